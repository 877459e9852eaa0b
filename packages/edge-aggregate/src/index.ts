/**
 * @outpost/edge-aggregate: aggregate and filter high-rate vibration and audio data on the
 * gateway — streaming windows and the condition-monitoring features maintenance engineers
 * read, on `Float32Array` chunks, allocation-free in the hot loop.
 *
 * @packageDocumentation
 */

// Errors
export { EdgeAggregateError } from './errors.js';
export type { EdgeAggregateErrorCode } from './errors.js';

// Time-domain features
export { FeatureAccumulator, timeFeatures, interleavedFeatures } from './features.js';
export type { TimeFeatures, MomentState, StrideOptions } from './features.js';
export type { Samples } from './validate.js';

/** Package version. */
export const VERSION = '0.1.0';
