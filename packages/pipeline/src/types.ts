/**
 * The shapes every part of the pipeline shares: one telemetry point, the sink contract that
 * both the cold path (the Parquet lake) and the time-series stores implement, and the
 * time-series query interface.
 */

/**
 * One measurement: one metric of one device at one instant. A decoded message yields one or
 * more points (a SenML pack or a JSON object with several metrics yields several).
 */
export interface TelemetryPoint {
  /** Device id (the certificate CN on the device side; the second topic level by default). */
  readonly device: string;
  /** Event time in milliseconds since the Unix epoch (UTC), an integer. */
  readonly time: number;
  /** Metric name, such as `temperature` or `battery_mv`. */
  readonly metric: string;
  /** Numeric value; `null` when the measurement is not a number (its value is then in `extra`). */
  readonly value: number | null;
  /** Everything else that came with the point (unit, string/boolean values, tags), stored as JSON. */
  readonly extra?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * A destination for telemetry points: the Parquet lake, PostgreSQL, DuckDB, or one of yours.
 *
 * The contract is what makes at-least-once delivery work: `write` resolves only when every
 * point handed to it is **durable** (committed to disk or to the database), and the pipeline
 * acknowledges an MQTT message only after every sink's `write` for it has resolved. A sink
 * batches internally (by size and by time) and resolves all the writes of a batch at once when
 * the batch commits. Writes must be idempotent on redelivery: the same (device, time, metric)
 * written twice must not become two rows in a store that has a unique key.
 */
export interface TelemetrySink {
  /** Short name used in stats, dead letters and errors (`lake`, `postgres`, `duckdb`). */
  readonly name: string;
  /**
   * Accept points. Resolves when they are durable. Rejects with a `PipelineError` of code
   * `SINK_REJECTED` when the points can never be accepted (e.g. HTTP 4xx): the message becomes a
   * dead letter. Any other rejection (`LAKE_IO`, `DB_FAILED`, a timeout, …) is transient: the
   * pipeline's delivery holds the message and writes the same points to this sink again later,
   * so writes must be idempotent by (device, metric, time).
   */
  write(points: readonly TelemetryPoint[]): Promise<void>;
  /** Commit what is buffered now; resolves when it is durable. */
  flush(): Promise<void>;
  /** Flush, then release files and connections. Further writes reject with `CLOSED`. */
  close(): Promise<void>;
}

/** The last value of one metric of one device. */
export interface LastValue {
  readonly device: string;
  readonly metric: string;
  /** Epoch milliseconds. */
  readonly time: number;
  readonly value: number | null;
}

/** One bucket of a downsampled series. */
export interface SeriesBucket {
  /** Start of the bucket, epoch milliseconds. */
  readonly bucket: number;
  readonly count: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly avg: number | null;
}

/** A silence in one device's stream: no point between `from` and `to` (epoch ms). */
export interface Gap {
  readonly device: string;
  readonly from: number;
  readonly to: number;
  /** `to - from`, milliseconds. */
  readonly durationMs: number;
}

/**
 * The common questions asked of a time-series store; PostgreSQL and DuckDB both answer them.
 * Times are epoch milliseconds; ranges are half-open `[from, to)`.
 */
export interface TimeSeriesQueries {
  /** The latest point of each (device, metric), optionally for one metric or one device. */
  lastValues(filter?: { readonly metric?: string; readonly device?: string }): Promise<LastValue[]>;
  /** A series downsampled into fixed buckets (`time_bucket` on TimescaleDB, `date_bin` otherwise). */
  downsample(q: {
    readonly device: string;
    readonly metric: string;
    readonly from: number;
    readonly to: number;
    readonly bucketMs: number;
  }): Promise<SeriesBucket[]>;
  /** Silences longer than `minGapMs` in each device's stream within `[from, to)`. */
  gaps(q: { readonly from: number; readonly to: number; readonly minGapMs: number; readonly device?: string }): Promise<Gap[]>;
}

/**
 * A stored value replaced under the one duplicate-key policy of every store: for one (device,
 * metric, time) key the last writer by arrival order wins. Reported to a sink's `onReplaced`
 * and counted in its `replaced` stat; an identical redelivery is not a replacement.
 */
export interface Replacement {
  /** The sink that replaced it (`duckdb`, `postgres`, `influx`). */
  readonly sink: string;
  readonly device: string;
  readonly metric: string;
  /** Epoch milliseconds. */
  readonly time: number;
  /** The value that was stored before. */
  readonly previous: number | null;
  /** The value stored now. */
  readonly value: number | null;
}
