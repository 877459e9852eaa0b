/**
 * `@outpost/device-sdk`: secure device connectivity for IoT fleets.
 *
 * @packageDocumentation
 */

// --- errors ---
export { DeviceError } from './errors.js';
export type { DeviceErrorCode } from './errors.js';

// --- identity: fleet CA, per-device certificates, broker config ---

// --- keep-alive planning ---

// --- MQTT device client ---
export const VERSION = '0.1.0';
