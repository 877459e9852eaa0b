/**
 * `@outpost/console`: the real-time fleet console. A small web server fed by the pipeline's hot
 * path (telemetry and alert topics), Server-Sent Events to the page, history from the
 * time-series store, shadow edits through the shadow service.
 *
 * The export list is explicit; the HTTP routes, the session store and the page are internal.
 *
 * @module @outpost/console
 */
export { startConsole } from './server.js';
export type { Console, ConsoleOptions, ConsoleStats } from './server.js';
export type { ConsoleTopics } from './feed.js';
export { LiveState } from './live.js';
export type { DeviceState, Frame, LiveOptions, LiveStats, SeriesColumns, Snapshot } from './live.js';
export { ConsoleError } from './errors.js';
export type { ConsoleErrorCode } from './errors.js';
