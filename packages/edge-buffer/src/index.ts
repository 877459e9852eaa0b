/**
 * {@include ../README.md#site}
 *
 * @packageDocumentation
 * @module @outpost/edge-buffer
 */

// --- opening a buffer ---
export { openBuffer } from './buffer.js';
export type { EdgeBuffer, ReadOptions } from './buffer.js';
export type { BufferStats } from './stats.js';
export type { BufferOptions, Durability, OverflowPolicy } from './options.js';

// --- records and draining ---
export type { BufferRecord } from './consumer.js';
export type { DrainSender, DrainOptions, DrainResult } from './drain.js';

// --- inspection ---
export { inspectBuffer } from './inspect.js';
export type { BufferReport, InspectOptions } from './inspect.js';

// --- events ---
export type { BufferEvent, BufferEventType, BufferEventListener } from './events.js';

// --- errors ---
export { BufferError } from './errors.js';
export type { BufferErrorCode } from './errors.js';

// --- file-system layer ---
export { nodeFileSystem } from './fs.js';
export type { FileSystem, FileHandle, NodeFileSystemOptions, OpenMode } from './fs.js';
