/**
 * `@outpost/pipeline`: the cloud side of an Outpost fleet. Device telemetry is consumed from an
 * MQTT broker (shared subscriptions for scale-out), decoded, and split into a hot path (rules and
 * alerts within milliseconds) and a cold path (a Parquet lake in a Hive layout), with time-series
 * storage in PostgreSQL/TimescaleDB or, embedded, DuckDB.
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './types.js';
export * from './decode.js';
export * from './dead-letter.js';
export * from './ingest.js';
export * from './pipeline.js';
export * from './rules.js';
export * from './alerts.js';
export * from './lake.js';
export * from './duckdb.js';
export * from './postgres.js';
export * from './stack.js';
export { encodeLineProtocol, formatLine, type Line, type LineFieldValue, type LinePrecision, type LineProtocolOptions } from './line-protocol.js';
export { createInfluxSink, type InfluxSink, type InfluxSinkOptions, type InfluxSinkStats } from './influx.js';
