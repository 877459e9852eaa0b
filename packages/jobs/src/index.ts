/**
 * {@include ../README.md#site}
 *
 * @packageDocumentation
 * @module @outpost/jobs
 */

// --- errors ---
export { JobsError } from './errors.js';
export type { JobsErrorCode } from './errors.js';

// --- topics and names ---
export { checkThingName, checkJobId, checkStreamId, jobsTopicPrefix, streamTopicPrefix } from './topics.js';
