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
export type { JobDescription, JobSpec, JobSummary } from './jobs-operator.js';
export { createJobsClient } from './jobs-client.js';
export type { JobsClient, JobsClientOptions, PendingJobs, UpdateOptions } from './jobs-client.js';
export { createJobsOperatorClient } from './jobs-operator-client.js';
export type { JobsOperatorClient, JobsOperatorClientOptions } from './jobs-operator-client.js';
