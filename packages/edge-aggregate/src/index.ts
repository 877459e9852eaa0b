/**
 * {@include ../README.md#site}
 *
 * @packageDocumentation
 * @module @outpost/edge-aggregate
 */

// Errors
export { EdgeAggregateError } from './errors.js';
export type { EdgeAggregateErrorCode } from './errors.js';

// Time-domain features
export { FeatureAccumulator, timeFeatures, interleavedFeatures } from './features.js';
export type { TimeFeatures, MomentState, StrideOptions } from './features.js';
export type { Samples } from './validate.js';

// Windows and composition
export { CountWindow } from './count-window.js';
export type { CountWindowOptions, CountWindowEvent } from './count-window.js';
export { TimeWindow } from './time-window.js';
export type { TimeWindowOptions, TimeWindowEvent } from './time-window.js';
export { SlidingCountWindow, SlidingTimeWindow } from './sliding-window.js';
export type { SlidingCountWindowOptions, SlidingTimeWindowOptions, SlidingWindowEvent } from './sliding-window.js';
export { Flow, countWindows, timeWindows, slidingCountWindows, slidingTimeWindows } from './flow.js';

// Frequency domain
export { RealFFT } from './fft.js';
export { windowCoefficients } from './spectral-window.js';
export type { WindowKind } from './spectral-window.js';
export { welchPsd, bandPowers, dominantFrequencies, velocityRms, severityZone, ISO_10816_3 } from './spectrum.js';
export type { WelchOptions, Psd, Band, SpectralPeak, VelocityOptions, SeverityThresholds, SeverityZone } from './spectrum.js';

// Audio levels
export { dbfs, aWeighting, aWeightedLevel } from './audio.js';

// Filters and downsampling
export { Deadband, RateLimiter, Biquad, Decimator, lttb } from './filters.js';
export type { DeadbandOptions, BiquadType, DecimatorOptions } from './filters.js';

// Quantiles and anomaly flags
export { DDSketch } from './ddsketch.js';
export type { DDSketchState } from './ddsketch.js';
export { AnomalyDetector } from './anomaly.js';
export type { AnomalyOptions, AnomalyVerdict } from './anomaly.js';

/** Package version. */
export const VERSION = '0.1.0';
