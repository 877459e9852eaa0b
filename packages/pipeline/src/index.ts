/**
 * {@include ../README.md#site}
 *
 * @packageDocumentation
 * @module @outpost/pipeline
 */

// The export list is explicit and grouped; internal helpers (argument checks, the batcher, the
// Parquet encoder) are not part of the API. Other modules append their lines to their group.

// Errors and shared shapes
export { PipelineError } from './errors.js';
export type { PipelineErrorCode } from './errors.js';
export type { TelemetryPoint, TelemetrySink, LastValue, SeriesBucket, Gap, TimeSeriesQueries, Replacement } from './types.js';

// Decoding and the one point schema
export { deviceFromTopic, decodeTelemetry, createDecoder } from './decode.js';
export type { PayloadFormat, DecodeOptions, IncomingMessage } from './decode.js';
export { checkTelemetryPoint, DEVICE_ID_PATTERN, METRIC_NAME_PATTERN, MIN_POINT_TIME, MAX_POINT_TIME, MAX_EXTRA_DEPTH } from './schema.js';

// Ingest, the pipeline and dead letters
export { connectIngest } from './ingest.js';
export type { IngestOptions, IngestStats, Ingest, IngestHandler, IngestClient, FlowSource } from './ingest.js';
export { createPipeline, runPipeline } from './pipeline.js';
export type { HotPathEngine, PipelineOptions, PipelineStats, Pipeline, RunningPipeline } from './pipeline.js';
export { callbackDeadLetterSink, fileDeadLetterSink } from './dead-letter.js';

// Scale-out: the JetStream source and the bridge from the device broker
export { connectJetStreamIngest } from './jetstream-ingest.js';
export type { JetStreamIngestOptions, JetStreamHandler, JetStreamMessageInfo, JetStreamIngestStats, JetStreamIngest } from './jetstream-ingest.js';
export { runJetStreamPipeline } from './jetstream-run.js';
export type { RunningJetStreamPipeline } from './jetstream-run.js';
export { subjectOfTopic, topicOfSubject, messageId } from './jetstream-stream.js';
export type { NatsConnectOptions, TelemetryStreamOptions } from './jetstream-stream.js';
export { startBridge } from './bridge.js';
export type { BridgeOptions, BridgeStats, Bridge } from './bridge.js';
export type { DeadLetter, DeadLetterSink, FileDeadLetterOptions } from './dead-letter.js';

// Hot path: rules and alerts
export { parseRules, loadRulesFile } from './rules-parse.js';
export { RuleEngine } from './rules.js';
export type {
  AlertSeverity,
  DeviceFilter,
  RuleCommon,
  ThresholdRule,
  RateRule,
  HeartbeatRule,
  CombinationRule,
  InlineRule,
  Rule,
  AlertEvent,
  RuleEngineOptions,
} from './rules-types.js';
export { callbackAlertSink, mqttAlertSink } from './alerts.js';
export { webhookAlertSink } from './alert-webhook.js';
export { AlertDispatcher } from './alert-dispatcher.js';
export type { AlertSendContext, AlertSink, MqttPublisher, MqttAlertSinkOptions } from './alerts.js';
export type { WebhookAlertSinkOptions } from './alert-webhook.js';
export type { AlertSinkStats, AlertDispatcherStats, AlertDispatcherOptions } from './alert-dispatcher.js';

// Cold path: the Parquet lake
export { createLake } from './lake.js';
export { localLakeStore } from './lake-store.js';
export type { LakeClock, LakeOptions, LakeStats, Lake } from './lake.js';
export type { LakeStore, LakeFs, LocalLakeStoreOptions } from './lake-store.js';

// Time-series stores
export { createDuckDbStore } from './duckdb.js';
export type { DuckDbStoreOptions, LakePartition, DuckDbStats, DuckDbStore } from './duckdb.js';
export { PG_MIN_TIME, PG_MAX_TIME, createPostgresSink } from './postgres.js';
export type { PostgresSinkOptions, PostgresSchemaInfo, PostgresSinkStats, PostgresSink } from './postgres.js';
export { formatLine, encodeLineProtocol } from './line-protocol.js';
export type { LineFieldValue, Line, LinePrecision, LineProtocolOptions } from './line-protocol.js';

// The usual assembly
export { openPipelineStack } from './stack.js';
export type { PipelineStackOptions, PipelineStack } from './stack.js';

// Delivery: the three outcomes, the acknowledgement window and the pipeline's clock
export { AckWindow } from './ack-window.js';
export { systemPipelineClock } from './clock.js';
export type { PipelineClock } from './clock.js';
export { Delivery } from './delivery.js';
export type { DeliveryEvent, DeliveryFailure, DeliveryOptions, DeliveryStats, SinkOutageStats } from './delivery.js';
export { createInfluxSink } from './influx.js';
export type { InfluxSink, InfluxSinkOptions, InfluxSinkStats } from './influx.js';
