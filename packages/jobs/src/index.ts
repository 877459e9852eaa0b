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

// --- jobs channel: model and protocol ---
export { DEFAULT_JOBS_LIMITS, isTerminalStatus, JOB_EXECUTION_STATUSES, JOB_EXECUTION_TRANSITIONS } from './jobs-model.js';
export type { ExecutionRecord, JobExecutionStatus, JobRecord, JobsLimits, JobStatus, JsonObject, JsonValue } from './jobs-model.js';
export type { JobsRejectCode } from './errors.js';
export { decodeJobsRequest, jobsRequestTopic, parseJobsRequestTopic } from './jobs-protocol.js';
export type {
  DecodeOutcome, DescribeRequest, GetPendingRequest, JobExecution, JobExecutionState, JobExecutionSummary, JobsErrorResponse,
  JobsRequest, JobsRequestTopic, StartNextRequest, UpdateRequest,
} from './jobs-protocol.js';
export { JobsMachine } from './jobs-machine.js';
export type { JobsChange, MachineOutcome } from './jobs-machine.js';

// --- jobs channel: store, service, clients ---
export { nodeJobsFileSystem } from './jobs-fs.js';
export type { JobsFileSystem, JobsWriteHandle } from './jobs-fs.js';
export { MemoryJobsStore, openFileJobsStore } from './jobs-store.js';
export type { FileJobsStoreOptions, JobsStore, StoredJobs } from './jobs-store.js';
export type { MqttLike } from './jobs-transport.js';
export { startJobsService } from './service.js';
export type { JobsService, JobsServiceOptions, JobsServiceStats } from './service.js';
export { operatorTopic } from './jobs-operator.js';
export type { ExecutionPage, ExecutionSummary, JobDescription, JobSpec, JobSummary, ListExecutionsOptions } from './jobs-operator.js';
export { createJobsClient } from './jobs-client.js';
export type { JobsClient, JobsClientOptions, PendingJobs, UpdateOptions } from './jobs-client.js';
export { createJobsOperatorClient } from './jobs-operator-client.js';
export type { JobsOperatorClient, JobsOperatorClientOptions } from './jobs-operator-client.js';
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
