/**
 * `@outpost/device-sdk`: secure device connectivity for IoT fleets.
 *
 * @packageDocumentation
 */

// --- errors ---
export { DeviceError } from './errors.js';
export type { DeviceErrorCode } from './errors.js';

// --- identity: fleet CA, per-device certificates, broker config ---
export { createFleetCA, issueDeviceCertificate, issueServerCertificate } from './identity/certificates.js';
export type { KeyAlgorithm, FleetCA, CreateFleetCAOptions, CaCredentials, ValidityOptions, IssueDeviceOptions, DeviceCertificate, IssueServerOptions, ServerCertificate } from './identity/certificates.js';
export { parseDeviceIdentity, checkDeviceCredentials, assertNotSharedCredential } from './identity/verify.js';
export type { DeviceIdentity, CheckDeviceCredentialsOptions, PresentedCredential } from './identity/verify.js';
export { brokerConfig } from './identity/broker-config.js';
export type { BrokerConfigOptions, BrokerConfig } from './identity/broker-config.js';

// --- keep-alive planning ---

// --- MQTT device client ---
export const VERSION = '0.1.0';
