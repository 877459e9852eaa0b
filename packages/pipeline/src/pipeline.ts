/**
 * The pipeline: decode → hot path (rules → alerts, synchronously on arrival) and, in parallel,
 * the cold path and the time-series store (sinks that resolve when durable) → acknowledge.
 */
import { createDecoder, type DecodeOptions, type IncomingMessage } from './decode.js';
import type { DeadLetter, DeadLetterSink } from './dead-letter.js';
import { PipelineError, type PipelineErrorCode } from './errors.js';
import { connectIngest, type Ingest, type IngestOptions } from './ingest.js';
import type { TelemetryPoint, TelemetrySink } from './types.js';
import { assertFunction, assertObject, describe, intOption } from './validate.js';

/**
 * What the pipeline needs of a rule engine (the package's `RuleEngine` has this shape):
 * `evaluate` runs per point on arrival, `tick` on a timer for rules that fire on silence.
 */
export interface HotPathEngine<E> {
  evaluate(point: TelemetryPoint): readonly E[];
  tick(now?: number): readonly E[];
}

/** Options of {@link createPipeline}. */
export interface PipelineOptions<E = unknown> {
  /** The cold path and time-series stores: each message is acknowledged only after all of them accepted it. */
  readonly sinks: readonly TelemetrySink[];
  /** Where undecodable messages and sink failures are recorded. */
  readonly deadLetter: DeadLetterSink;
  /** The hot path: rules evaluated on every point as it arrives. */
  readonly rules?: HotPathEngine<E>;
  /**
   * Called with each alert event the rules raise, synchronously, before the message goes to the
   * sinks (so alert latency never waits for a batch). Hand it to an `AlertDispatcher`; it must
   * not throw (a throw is counted in `stats().alertErrors` and otherwise ignored).
   */
  readonly onAlert?: (event: E) => void;
  /** Payload decoding options. */
  readonly decode?: DecodeOptions;
  /** How often the rules' `tick` runs (heartbeat detection), ms (default 1 000; 0 = never). */
  readonly tickMs?: number;
  /**
   * When this many messages wait for their batches (default 10 000), every sink is told to
   * commit now instead of at its age bound. Messages are acknowledged only once their batches are
   * durable, so throughput is at most (messages in flight) / (time to commit); without this a
   * broker that stops at its in-flight window (MQTT 5 Receive Maximum) would wait out the lake's
   * age bound on every window. Keep it below the consumer's `receiveMaximum`.
   */
  readonly flushAtInFlight?: number;
}

/** Counters of a {@link Pipeline}. */
export interface PipelineStats {
  /** Messages handled (decoded or dead-lettered). */
  messages: number;
  /** Points decoded and handed to the sinks. */
  points: number;
  /** Alert events raised by the rules. */
  alerts: number;
  /** `onAlert` calls that threw. */
  alertErrors: number;
  /** Messages sent to the dead-letter sink, by reason. */
  deadLettered: Partial<Record<PipelineErrorCode, number>>;
  /** Messages whose handling has not finished (not yet acknowledgeable). */
  inFlight: number;
}

/** A pipeline: feed it messages with {@link Pipeline.handle}, or run it from a broker with {@link runPipeline}. */
export interface Pipeline {
  /**
   * Handles one message; resolves when it may be acknowledged: every sink accepted its points
   * durably, or the failure was durably recorded in the dead-letter sink. Rejects only if even
   * the dead-letter sink failed: the message must then not be acknowledged (it is redelivered).
   */
  handle(message: IncomingMessage): Promise<void>;
  stats(): PipelineStats;
  /**
   * Commits what every sink holds now (the end of a stream, a test, a controlled shutdown):
   * resolves when all of it is durable, so every message handed in before is acknowledgeable.
   */
  flush(): Promise<void>;
  /** Stops the timer, flushes and closes the sinks and the dead-letter sink. */
  close(): Promise<void>;
}

function checkSink(name: string, s: unknown): void {
  assertObject(name, s);
  for (const m of ['write', 'flush', 'close'] as const) assertFunction(`${name}.${m}`, s[m]);
  if (typeof s['name'] !== 'string') throw new TypeError(`${name}.name: expected a string, got ${describe(s['name'])}`);
}

/**
 * Builds a pipeline from its parts. Per message: decode (a bad message goes to the dead-letter
 * sink with its reason and never stops the pipeline) → every point through the rules at once,
 * alerts out through `onAlert` → all sinks in parallel → resolve (acknowledge) when all
 * accepted; a sink that failed for good is recorded as a `SINK_FAILED` dead letter naming it.
 *
 * @example
 * ```ts
 * import { createPipeline, callbackDeadLetterSink, type TelemetryPoint, type TelemetrySink } from '@outpost/pipeline';
 * const stored: TelemetryPoint[] = [];
 * const memory: TelemetrySink = { name: 'memory', async write(p) { stored.push(...p); }, async flush() {}, async close() {} };
 * const dead: string[] = [];
 * const pipeline = createPipeline({ sinks: [memory], deadLetter: callbackDeadLetterSink((l) => { dead.push(l.reason); }) });
 * const enc = new TextEncoder();
 * await pipeline.handle({ topic: 'devices/pump-1/telemetry', payload: enc.encode('{"temperature": 70.5}'), receivedAt: Date.now() });
 * await pipeline.handle({ topic: 'devices/pump-1/telemetry', payload: enc.encode('{"temperature": '), receivedAt: Date.now() });
 * stored.length; // 1
 * dead; // ['DECODE_FAILED']
 * await pipeline.close();
 * ```
 */
export function createPipeline<E = unknown>(options: PipelineOptions<E>): Pipeline {
  assertObject('createPipeline: options', options);
  if (!Array.isArray(options.sinks)) throw new TypeError(`createPipeline: sinks: expected an array, got ${describe(options.sinks)}`);
  options.sinks.forEach((s, i) => checkSink(`createPipeline: sinks[${i}]`, s));
  assertObject('createPipeline: deadLetter', options.deadLetter);
  assertFunction('createPipeline: deadLetter.write', options.deadLetter.write);
  if (options.rules !== undefined) {
    assertObject('createPipeline: rules', options.rules);
    assertFunction('createPipeline: rules.evaluate', options.rules.evaluate);
    assertFunction('createPipeline: rules.tick', options.rules.tick);
  }
  if (options.onAlert !== undefined) assertFunction('createPipeline: onAlert', options.onAlert);
  if (options.decode !== undefined) assertObject('createPipeline: decode', options.decode);
  const tickMs = intOption('createPipeline: tickMs', options.tickMs, 1_000, 0);
  const flushAt = intOption('createPipeline: flushAtInFlight', options.flushAtInFlight, 10_000, 1);
  const sinks = [...options.sinks];
  const { deadLetter, rules, onAlert } = options;
  const decode = createDecoder(options.decode ?? {}); // options checked once, not per message
  const stats: PipelineStats = { messages: 0, points: 0, alerts: 0, alertErrors: 0, deadLettered: {}, inFlight: 0 };
  let closed = false;

  function raise(events: readonly E[]): void {
    for (const ev of events) {
      stats.alerts++;
      if (onAlert === undefined) continue;
      try {
        onAlert(ev);
      } catch {
        stats.alertErrors++;
      }
    }
  }

  const timer = rules !== undefined && tickMs > 0 ? setInterval(() => raise(rules.tick()), tickMs) : undefined;
  timer?.unref();

  async function dead(msg: IncomingMessage, reason: PipelineErrorCode, detail: string, sink?: string): Promise<void> {
    const letter: DeadLetter = { topic: msg.topic, payload: msg.payload, reason, detail, receivedAt: msg.receivedAt, ...(sink !== undefined ? { sink } : {}) };
    await deadLetter.write(letter);
    stats.deadLettered[reason] = (stats.deadLettered[reason] ?? 0) + 1;
  }

  async function handle(msg: IncomingMessage): Promise<void> {
    if (closed) throw new PipelineError('CLOSED', 'pipeline: handle after close');
    stats.messages++;
    let points: TelemetryPoint[];
    try {
      points = decode(msg);
    } catch (e) {
      if (e instanceof PipelineError) return dead(msg, e.code, e.message);
      throw e; // a TypeError here is a bug in the caller's message object, not bad device data
    }
    stats.points += points.length;
    if (rules !== undefined) for (const p of points) raise(rules.evaluate(p));
    const settled = await Promise.allSettled(sinks.map((s) => s.write(points)));
    for (let i = 0; i < settled.length; i++) {
      const r = settled[i];
      if (r?.status === 'rejected') {
        const err = r.reason as Error;
        await dead(msg, 'SINK_FAILED', `${(sinks[i] as TelemetrySink).name}: ${err?.message ?? String(err)}`, (sinks[i] as TelemetrySink).name);
      }
    }
  }

  // One sink flush at a time, started when the in-flight count reaches the bound.
  let flushing = false;
  function pressure(): void {
    if (flushing || stats.inFlight < flushAt) return;
    flushing = true;
    void Promise.allSettled(sinks.map((s) => s.flush())).then(() => {
      flushing = false;
    });
  }

  return {
    handle(msg) {
      stats.inFlight++;
      const p = handle(msg); // registers its sink writes synchronously, so a flush now includes them
      if (stats.inFlight >= flushAt) pressure();
      p.then(() => stats.inFlight--, () => stats.inFlight--);
      return p;
    },
    stats: () => ({ ...stats, deadLettered: { ...stats.deadLettered } }),
    async flush() {
      const r = await Promise.allSettled(sinks.map((s) => s.flush()));
      const failed = r.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
      if (failed.length > 0) throw new PipelineError('SINK_FAILED', `pipeline: flush failed: ${failed.map((f) => (f.reason as Error)?.message ?? String(f.reason)).join('; ')}`, { cause: failed[0]?.reason });
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      const errors: unknown[] = [];
      for (const s of sinks) await s.close().catch((e: unknown) => errors.push(e));
      await deadLetter.close().catch((e: unknown) => errors.push(e));
      if (errors.length > 0) throw new PipelineError('SINK_FAILED', `pipeline: closing failed: ${errors.map((e) => (e as Error).message).join('; ')}`, { cause: errors[0] });
    },
  };
}

/** A pipeline fed by a broker. */
export interface RunningPipeline {
  readonly pipeline: Pipeline;
  readonly ingest: Ingest;
  /** Stops consuming (pending messages finish and are acknowledged), then closes the pipeline. */
  close(): Promise<void>;
}

/**
 * Connects an MQTT consumer ({@link connectIngest}) to a pipeline: each message is handled and
 * acknowledged when {@link Pipeline.handle} resolves.
 *
 * @example
 * ```ts
 * import { runPipeline, callbackDeadLetterSink, type TelemetryPoint } from '@outpost/pipeline';
 * import { startMosquitto, tempDir } from '@outpost/test-peers';
 * import { connectAsync } from 'mqtt';
 * // A local broker, as the tests start one; in production: mqtts:// with ca, cert and key.
 * const dir = tempDir();
 * const broker = await startMosquitto({ dir: dir.path, config: (port) => `listener ${port} 127.0.0.1\nallow_anonymous true\n` });
 * const url = `mqtt://127.0.0.1:${broker.port}`;
 * const stored: TelemetryPoint[] = [];
 * const memory = { name: 'memory', write: async (p: readonly TelemetryPoint[]) => { stored.push(...p); }, flush: async () => {}, close: async () => {} };
 * const running = await runPipeline({ sinks: [memory], deadLetter: callbackDeadLetterSink(() => {}) }, { url, insecure: true, clientId: 'pipeline-1' });
 * const device = await connectAsync(url, { clientId: 'pump-1' });
 * await device.publishAsync('devices/pump-1/telemetry', '{"temperature": 21.5}', { qos: 1 });
 * while (running.pipeline.stats().points < 1) await new Promise((r) => setTimeout(r, 10));
 * await running.close();
 * stored.map((p) => `${p.device} ${p.metric} ${p.value}`); // ['pump-1 temperature 21.5']
 * await device.endAsync();
 * await broker.stop();
 * dir.cleanup();
 * ```
 */
export async function runPipeline<E>(options: PipelineOptions<E>, ingest: IngestOptions): Promise<RunningPipeline> {
  const pipeline = createPipeline(options);
  let consumer: Ingest;
  try {
    consumer = await connectIngest(ingest, (m) => pipeline.handle(m));
  } catch (e) {
    await pipeline.close().catch(() => undefined);
    throw e;
  }
  return {
    pipeline,
    ingest: consumer,
    async close() {
      await consumer.close();
      await pipeline.close();
    },
  };
}
