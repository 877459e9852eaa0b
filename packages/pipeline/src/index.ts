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
