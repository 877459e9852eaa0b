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

// --- file delivery (MQTT streams, HTTP ranges, CoAP blocks) ---
export type { DeliveryErrorCode } from './delivery/codes.js';
export {
  encodeDescribeStream, decodeDescribeStream, encodeStreamDescription, decodeStreamDescription, encodeGetStream, decodeGetStream,
  encodeDataBlock, decodeDataBlock, encodeStreamRejection, decodeStreamRejection,
  MIN_BLOCK_SIZE, MAX_BLOCK_SIZE, DEFAULT_MAX_MESSAGE_BYTES,
} from './streams/codec.js';
export type { StreamFormat, DescribeStreamRequest, StreamDescription, StreamFileInfo, GetStreamRequest, StreamDataBlock, StreamRejection } from './streams/codec.js';
export { bitmapOf, requestedBlocks } from './streams/bitmap.js';
export type { StreamMqtt } from './streams/mqtt.js';
export { startStreamServer, blockDigestList } from './streams/server.js';
export type { StreamServer, StreamServerOptions, StreamServerStats, StreamSource, StreamFileSource } from './streams/server.js';
export { downloadStream } from './streams/client.js';
export type { StreamDownloadOptions, StreamDownloadResult } from './streams/client.js';
export type { DownloadResult } from './delivery/resumable.js';
export type { DeliveryTimers } from './streams/fetch.js';
export { startFileServer } from './http/server.js';
export type { FileServer, FileServerOptions, FileServerStats } from './http/server.js';
export { downloadHttp } from './http/client.js';
export type { HttpDownloadOptions, HttpDownloadResult } from './http/client.js';
export { downloadCoap } from './coap/client.js';
export type { CoapBlockClient, CoapBlockSize, CoapDownloadOptions, CoapDownloadResult } from './coap/client.js';
