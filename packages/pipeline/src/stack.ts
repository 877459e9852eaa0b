/**
 * The usual assembly in one call: a Parquet lake, a time-series store (PostgreSQL when a URL is
 * given, embedded DuckDB otherwise), optionally InfluxDB, rules, alert sinks and a file
 * dead-letter sink. The CLI
 * (`outpost pipeline`) and the demo are built on it; compose the parts yourself when you need
 * something else.
 */
import { join } from 'node:path';
import { AlertDispatcher, type AlertDispatcherStats } from './alert-dispatcher.js';
import type { AlertSink } from './alerts.js';
import type { DecodeOptions } from './decode.js';
import { fileDeadLetterSink, type DeadLetterSink } from './dead-letter.js';
import { createDuckDbStore, type DuckDbStore, type DuckDbStoreOptions } from './duckdb.js';
import { createLake, type Lake, type LakeOptions } from './lake.js';
import { systemPipelineClock, type PipelineClock } from './clock.js';
import type { DeliveryOptions } from './delivery.js';
import { createPipeline, type Pipeline } from './pipeline.js';
import { createInfluxSink, type InfluxSink, type InfluxSinkOptions } from './influx.js';
import { createPostgresSink, type PostgresSink, type PostgresSinkOptions } from './postgres.js';
import { RuleEngine } from './rules.js';
import type { AlertEvent, Rule, RuleEngineOptions } from './rules-types.js';
import type { Replacement, TelemetrySink } from './types.js';
import { assertObject, assertString, describe, intOption } from './validate.js';
import { warmHotPath, WARM_UP_MESSAGES } from './warm-up.js';

/** Options of {@link openPipelineStack}. */
export interface PipelineStackOptions {
  /** Root of the Parquet lake (the cold path). Files go to `<lakeDir>/telemetry/date=…/hour=…/`. */
  readonly lakeDir: string;
  /** Lake tuning (roll-over bounds); `dir` comes from `lakeDir`. */
  readonly lake?: Omit<LakeOptions, 'dir' | 'store'>;
  /** PostgreSQL (TimescaleDB when present) as the time-series store: a URL or sink options. */
  readonly postgres?: string | PostgresSinkOptions;
  /**
   * The embedded DuckDB store: a file path, `':memory:'`, store options, or `false` for none.
   * Default: a file `timeseries.duckdb` in `lakeDir` when no `postgres` is given, none otherwise.
   * Needs the optional peer dependency `@duckdb/node-api`.
   */
  readonly duckdb?: string | DuckDbStoreOptions | false;
  /**
   * InfluxDB 1.x as a further time-series sink, beside the store above: a URL (database
   * `telemetry`) or sink options.
   */
  readonly influx?: string | InfluxSinkOptions;
  /**
   * Told of every stored value a store replaced with a different one (the duplicate policy of
   * every store: the last writer by arrival order wins). Options given per store win.
   */
  readonly onReplaced?: (r: Replacement) => void;
  /** Hot-path rules (see `parseRules`). */
  readonly rules?: readonly Rule[];
  /** Rule engine options (clock, state expiry). */
  readonly ruleOptions?: RuleEngineOptions;
  /** Where alerts go (callback, MQTT topic, webhook). */
  readonly alertSinks?: readonly AlertSink[];
  /** Called when an alert could not be delivered after its retries. */
  readonly onAlertFailure?: (event: AlertEvent, sink: string, error: unknown) => void;
  /** Dead letters: a directory for JSON-lines files (default `<lakeDir>/dead-letter`) or your own sink. */
  readonly deadLetter?: string | DeadLetterSink;
  readonly decode?: DecodeOptions;
  /** Heartbeat check period, ms (default 1 000). */
  readonly tickMs?: number;
  /** See `PipelineOptions.flushAtInFlight` (default 10 000 messages). */
  readonly flushAtInFlight?: number;
  /** See `PipelineOptions.maxWritePoints` (default 4 096). */
  readonly maxWritePoints?: number;
  /** See `PipelineOptions.releasePerTurn` (default 1 024). */
  readonly releasePerTurn?: number;
  /** See `PipelineOptions.maxInFlight` (default 20 000). */
  readonly maxInFlight?: number;
  /** Sink outages: retries, stall watchdog, `deadLetterAfterMs` (off by default), events, log lines (see `DeliveryOptions`). */
  readonly delivery?: DeliveryOptions;
  /** Time for the rules' tick and the delivery's retries (default: the system clock). */
  readonly clock?: PipelineClock;
  /**
   * Synthetic messages run through the decode and rules code (a throwaway engine with the same
   * rules; nothing stored, no alert) before the stack is returned, so the first real messages
   * meet compiled code (default 2 000, a few tens of ms; 0 = none).
   */
  readonly warmUpMessages?: number;
}

/** What {@link openPipelineStack} built. */
export interface PipelineStack {
  readonly pipeline: Pipeline;
  readonly lake: Lake;
  /** The time-series store in use (PostgreSQL or DuckDB), if any. */
  readonly store: PostgresSink | DuckDbStore | undefined;
  /** The InfluxDB sink, if any. */
  readonly influx: InfluxSink | undefined;
  readonly engine: RuleEngine | undefined;
  readonly alerts: AlertDispatcher;
  /** Lake, store, alert and pipeline counters in one object. */
  stats(): {
    pipeline: ReturnType<Pipeline['stats']>;
    lake: ReturnType<Lake['stats']>;
    store: Record<string, unknown> | undefined;
    influx: ReturnType<InfluxSink['stats']> | undefined;
    alerts: AlertDispatcherStats;
  };
  /** Closes the pipeline (flushing the lake and the store), then waits for pending alert deliveries. */
  close(): Promise<void>;
}

/**
 * Opens the standard pipeline: lake + time-series store + rules + alerts + dead letters.
 *
 * @example
 * ```ts
 * import { openPipelineStack, callbackAlertSink } from '@outpost/pipeline';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const alerts: string[] = [];
 * const stack = await openPipelineStack({
 *   lakeDir: mkdtempSync(join(tmpdir(), 'lake-')),
 *   duckdb: ':memory:',
 *   lake: { maxAgeMs: 200 }, // a batch commits (and its messages are acknowledged) within 200 ms
 *   rules: [{ id: 'overheat', kind: 'threshold', metric: 'temperature', above: 80, clearAt: 75 }],
 *   alertSinks: [callbackAlertSink((e) => { alerts.push(`${e.kind} ${e.device}`); })],
 * });
 * const t0 = Date.now() - 4000;
 * const send = (i: number, temperature: number) => stack.pipeline.handle({ topic: 'devices/pump-2/telemetry', payload: new TextEncoder().encode(JSON.stringify({ ts: t0 + i * 1000, temperature })), receivedAt: Date.now() });
 * await Promise.all([send(0, 70), send(1, 85), send(2, 90), send(3, 72)]);
 * await stack.close();
 * alerts; // ['fired pump-2', 'resolved pump-2']
 * stack.stats().lake.rows; // 4
 * ```
 */
export async function openPipelineStack(options: PipelineStackOptions): Promise<PipelineStack> {
  assertObject('openPipelineStack: options', options);
  assertString('openPipelineStack: lakeDir', options.lakeDir);
  if (options.duckdb !== undefined && options.duckdb !== false && typeof options.duckdb !== 'string') {
    if (typeof options.duckdb !== 'object' || options.duckdb === null || Array.isArray(options.duckdb)) {
      throw new TypeError(`openPipelineStack: duckdb: expected a path, ':memory:', store options or false, got ${describe(options.duckdb)}`);
    }
  }
  if (options.postgres !== undefined && typeof options.postgres !== 'string') assertObject('openPipelineStack: postgres', options.postgres);
  if (options.influx !== undefined && typeof options.influx !== 'string') assertObject('openPipelineStack: influx', options.influx);
  if (options.onReplaced !== undefined && typeof options.onReplaced !== 'function') throw new TypeError(`openPipelineStack: onReplaced: expected a function, got ${describe(options.onReplaced)}`);
  const replaced = options.onReplaced !== undefined ? { onReplaced: options.onReplaced } : {};
  const warmUp = intOption('openPipelineStack: warmUpMessages', options.warmUpMessages, WARM_UP_MESSAGES, 0, 1_000_000);
  const engine = options.rules !== undefined ? new RuleEngine(options.rules, options.ruleOptions ?? {}) : undefined;
  const alerts = new AlertDispatcher(options.alertSinks ?? [], options.onAlertFailure !== undefined ? { onFailure: options.onAlertFailure } : {});
  const opened: { close(): Promise<void> }[] = [];
  try {
    const lake = await createLake({ ...(options.lake ?? {}), dir: options.lakeDir });
    opened.push(lake);
    let store: PostgresSink | DuckDbStore | undefined;
    if (options.postgres !== undefined) {
      store = createPostgresSink({ ...replaced, ...(typeof options.postgres === 'string' ? { connectionString: options.postgres } : options.postgres) });
      opened.push(store);
      await store.ensureSchema();
    }
    const duck = options.duckdb ?? (options.postgres === undefined ? join(options.lakeDir, 'timeseries.duckdb') : false);
    if (duck !== false) {
      if (store !== undefined) throw new RangeError('openPipelineStack: give postgres or duckdb, not both');
      store = await createDuckDbStore({ ...replaced, ...(typeof duck === 'string' ? { path: duck } : duck) }); // it creates the file's directory
      opened.push(store);
    }
    const deadLetter = typeof options.deadLetter === 'object' ? options.deadLetter : fileDeadLetterSink({ dir: options.deadLetter ?? join(options.lakeDir, 'dead-letter') });
    const influx = options.influx !== undefined ? createInfluxSink({ ...replaced, ...(typeof options.influx === 'string' ? { url: options.influx } : options.influx) }) : undefined;
    if (influx !== undefined) opened.push(influx);
    const sinks: TelemetrySink[] = [lake, ...(store !== undefined ? [store] : []), ...(influx !== undefined ? [influx] : [])];
    const pipeline = createPipeline<AlertEvent>({
      sinks,
      deadLetter,
      ...(engine !== undefined ? { rules: engine, onAlert: (e: AlertEvent) => alerts.dispatch(e) } : {}),
      ...(options.decode !== undefined ? { decode: options.decode } : {}),
      ...(options.tickMs !== undefined ? { tickMs: options.tickMs } : {}),
      ...(options.flushAtInFlight !== undefined ? { flushAtInFlight: options.flushAtInFlight } : {}),
      ...(options.maxWritePoints !== undefined ? { maxWritePoints: options.maxWritePoints } : {}),
      ...(options.releasePerTurn !== undefined ? { releasePerTurn: options.releasePerTurn } : {}),
      ...(options.maxInFlight !== undefined ? { maxInFlight: options.maxInFlight } : {}),
      ...(options.delivery !== undefined ? { delivery: options.delivery } : {}),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
    });
    // Last, while nothing reads yet: the first real messages meet compiled code (warm-up.ts).
    await warmHotPath({ decode: options.decode, rules: options.rules, ruleOptions: options.ruleOptions, messages: warmUp, now: (options.clock ?? systemPipelineClock).now() });
    const s = store;
    return {
      pipeline,
      lake,
      store: s,
      influx,
      engine,
      alerts,
      stats: () => ({ pipeline: pipeline.stats(), lake: lake.stats(), store: s !== undefined ? { name: s.name, ...(s.stats() as unknown as Record<string, unknown>) } : undefined, influx: influx?.stats(), alerts: alerts.stats() }),
      async close() {
        await pipeline.close();
        await alerts.drain();
      },
    };
  } catch (e) {
    for (const o of opened.reverse()) await o.close().catch(() => undefined);
    throw e;
  }
}
