/**
 * `@outpost/jobs`: updates carried over the wire with AWS IoT Jobs semantics — a device jobs
 * client, a reference jobs service, and resumable file delivery (MQTT streams, HTTP ranges,
 * CoAP blocks). The OTA agent in `@outpost/ota` composes it.
 *
 * @packageDocumentation
 * @module @outpost/jobs
 * @document ../README.md
 */

// --- errors ---
export { JobsError } from './errors.js';
export type { JobsErrorCode } from './errors.js';

// --- topics and names ---
export { checkThingName, checkJobId, checkStreamId, jobsTopicPrefix, streamTopicPrefix } from './topics.js';
