/**
 * The pipeline: decode → hot path (rules → alerts, synchronously on arrival) and, in parallel,
 * the cold path and the time-series store (sinks that resolve when durable, through the
 * delivery module's three outcomes) → acknowledge.
 */
import { assertClock, type PipelineClock } from './clock.js';
import { createDecoder, type DecodeOptions, type IncomingMessage } from './decode.js';
import type { DeadLetter, DeadLetterSink } from './dead-letter.js';
import { Delivery, type DeliveryOptions, type SinkOutageStats } from './delivery.js';
import { PipelineError, type PipelineErrorCode } from './errors.js';
import { connectIngest, type FlowSource, type Ingest, type IngestOptions } from './ingest.js';
import type { TelemetryPoint, TelemetrySink } from './types.js';
import { WriteGroups } from './write-groups.js';
import { finishGroup, inFlightFlow, pipelineLimits, pressureFlush } from './pipeline-flow.js';
import { assertFunction, assertObject, describe } from './validate.js';

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
  /** Where rejected messages (undecodable, invalid, refused by a sink for good) are recorded. */
  readonly deadLetter: DeadLetterSink;
  /** Sink outages: retry delays, the stall watchdog, `deadLetterAfterMs` (off by default), events and log lines. */
  readonly delivery?: DeliveryOptions;
  /** Time for the rules' tick and the delivery's retries (default: the system clock). */
  readonly clock?: PipelineClock;
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
  /**
   * The points of the messages that arrive together (one socket read, one turn of the event
   * loop) go to each sink as one write of at most this many points (default 4 096; 1 = one
   * write per message). Each message keeps its own outcome: a sink that refuses a joint write
   * gets each message's points again on their own.
   */
  readonly maxWritePoints?: number;
  /**
   * Most messages whose outcome (and so acknowledgement) is released per turn of the event loop
   * (default 1 024): when a large batch commits, its messages' acknowledgements are spread over
   * several turns, so the socket (new messages, the hot path's alerts) is read in between.
   */
  readonly releasePerTurn?: number;
  /**
   * When this many messages are in flight (handed in, not yet acknowledgeable), the pipeline
   * tells its flow listeners "held" until half of them are done (default 20 000): the consumer
   * stops reading and the broker keeps the rest, instead of up to `receiveMaximum` (65 535)
   * messages living in memory while their batches commit (the end-to-end profile spent over a
   * third of its time in garbage collection with them). Keep it above `flushAtInFlight`.
   */
  readonly maxInFlight?: number;
}

/**
 * Counters of a {@link Pipeline}. Every message handed in ends in one outcome:
 * `received = delivered + rejected + failed + inFlight`.
 */
export interface PipelineStats {
  /** Messages handed in (the same as `received`). */
  messages: number;
  /** Messages handed in. */
  received: number;
  /** Messages every sink made durable (acknowledge). */
  delivered: number;
  /** Messages that can never succeed, durably dead-lettered with a reason (acknowledge). */
  rejected: number;
  /** Messages whose dead letter could not be written, or held when the pipeline closed: not acknowledged (redelivered). */
  failed: number;
  /** Sink writes (message × sink) held while their sink is down. */
  held: number;
  /** Outage counters per sink. */
  outage: Record<string, SinkOutageStats>;
  /** Points decoded and handed to the sinks. */
  points: number;
  /** Alert events raised by the rules. */
  alerts: number;
  /** `onAlert` calls that threw. */
  alertErrors: number;
  /** Messages sent to the dead-letter sink, by reason (they add up to `rejected`). */
  deadLettered: Partial<Record<PipelineErrorCode, number>>;
  /** Messages whose handling has not finished (not yet acknowledgeable). */
  inFlight: number;
}

/**
 * A pipeline: feed it messages with {@link Pipeline.handle}, or run it from a broker with
 * {@link runPipeline}. It is a {@link FlowSource}: it says "held" while a sink is down.
 */
export interface Pipeline extends FlowSource {
  /**
   * Handles one message; resolves when it may be acknowledged: *delivered* (every sink made its
   * points durable) or *rejected* (it can never succeed, and its dead letter is durable). A sink
   * that fails transiently (*errored*) holds the message until the sink is back. Rejects only if
   * the dead-letter sink failed or the pipeline closed while holding it: do not acknowledge it.
   * The messages of one write group (handed in during one turn) share one promise: it settles
   * when every one of them has its outcome, and rejects for all of them if one cannot be
   * acknowledged (the broker redelivers them; the stores are idempotent by key).
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

function checkPipelineOptions<E>(options: PipelineOptions<E>): void {
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
  if (options.delivery !== undefined) assertObject('createPipeline: delivery', options.delivery);
  if (options.clock !== undefined) assertClock('createPipeline: clock', options.clock);
}

/**
 * Runs `fn` every `ms` on the injected clock (the rules' silence checks); unref'd where the
 * clock's handle allows it, so an idle pipeline does not keep a process alive. Returns the stopper.
 */
function every(clock: PipelineClock, ms: number, fn: () => void): () => void {
  let timer: unknown;
  const arm = (): void => {
    timer = clock.setTimeout(() => {
      arm();
      fn();
    }, ms);
    (timer as { unref?: () => void }).unref?.();
  };
  arm();
  return () => clock.clearTimeout(timer);
}

/**
 * Whatever decoding device data throws (a PipelineError, or a TypeError/RangeError from a hostile
 * payload) is a rejection with a reason, never a stall.
 */
function decodeRejection(e: unknown): { code: PipelineErrorCode; detail: string } {
  if (e instanceof PipelineError) return { code: e.code, detail: e.message };
  return { code: 'DECODE_FAILED', detail: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}

/** Counts alert events and hands each to `onAlert`; a throw is counted, never passed on. */
function alertRaiser<E>(stats: { alerts: number; alertErrors: number }, onAlert: ((event: E) => void) | undefined): (events: readonly E[]) => void {
  return (events) => {
    for (const ev of events) {
      stats.alerts++;
      if (onAlert === undefined) continue;
      try {
        onAlert(ev);
      } catch {
        stats.alertErrors++;
      }
    }
  };
}

/** Commits every sink now; `SINK_FAILED` naming what failed. */
async function flushAll(sinks: readonly TelemetrySink[]): Promise<void> {
  const r = await Promise.allSettled(sinks.map((s) => s.flush()));
  const failed = r.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failed.length > 0) throw new PipelineError('SINK_FAILED', `pipeline: flush failed: ${failed.map((f) => (f.reason as Error)?.message ?? String(f.reason)).join('; ')}`, { cause: failed[0]?.reason });
}

/** Closes every sink and the dead-letter sink, all of them even if one fails. */
async function closeAll(sinks: readonly TelemetrySink[], deadLetter: DeadLetterSink): Promise<void> {
  const errors: unknown[] = [];
  for (const s of sinks) await s.close().catch((e: unknown) => errors.push(e));
  await deadLetter.close().catch((e: unknown) => errors.push(e));
  if (errors.length > 0) throw new PipelineError('SINK_FAILED', `pipeline: closing failed: ${errors.map((e) => (e as Error).message).join('; ')}`, { cause: errors[0] });
}

/**
 * Builds a pipeline from its parts. Per message: decode (any failure, whatever it throws, is a
 * rejection: a dead letter with its reason, never a stall) → every point through the rules at
 * once, alerts out through `onAlert` → all sinks in parallel through the delivery → resolve
 * (acknowledge) when all made it durable. A sink that refuses the points for good
 * (`SINK_REJECTED`) makes the message a `SINK_REJECTED` dead letter naming it; any other sink
 * failure holds the message and retries the sink until it is back (see `DeliveryOptions`).
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
 * const { received, delivered, rejected } = pipeline.stats();
 * [received, delivered, rejected]; // [2, 1, 1]
 * await pipeline.close();
 * ```
 */
export function createPipeline<E = unknown>(options: PipelineOptions<E>): Pipeline {
  checkPipelineOptions(options);
  const { clock, tickMs, flushAt, maxInFlight, maxWritePoints, releasePerTurn } = pipelineLimits(options);
  const sinks = [...options.sinks];
  const { deadLetter, rules, onAlert } = options;
  const decode = createDecoder(options.decode ?? {}); // options checked once, not per message
  const delivery = new Delivery(sinks, { clock, ...(options.delivery ?? {}) });
  const stats = { messages: 0, points: 0, alerts: 0, alertErrors: 0, deadLettered: {} as Partial<Record<PipelineErrorCode, number>>, inFlight: 0, delivered: 0, rejected: 0, failed: 0 };
  let closed = false;

  const raise = alertRaiser(stats, onAlert);

  const stopTicker = rules !== undefined && tickMs > 0 ? every(clock, tickMs, () => raise(rules.tick(clock.now()))) : () => undefined;

  async function reject(msg: IncomingMessage, reason: PipelineErrorCode, detail: string, sink?: string): Promise<void> {
    const letter: DeadLetter = { topic: msg.topic, payload: msg.payload, reason, detail, receivedAt: msg.receivedAt, ...(sink !== undefined ? { sink } : {}) };
    await deadLetter.write(letter);
    stats.deadLettered[reason] = (stats.deadLettered[reason] ?? 0) + 1;
    stats.rejected++;
  }

  const flow = inFlightFlow(delivery, maxInFlight, () => stats.inFlight);
  const done = (n: number, failed: number): void => {
    stats.inFlight -= n;
    stats.failed += failed;
    flow.check();
  };
  const groups = new WriteGroups<IncomingMessage>(delivery, maxWritePoints, releasePerTurn, (msgs, verdicts, error) => {
    if (error !== undefined) {
      done(msgs.length, msgs.length); // CLOSED: held when the pipeline closed
      throw error;
    }
    if (verdicts === undefined) {
      stats.delivered += msgs.length;
      done(msgs.length, 0);
      return undefined;
    }
    return finishGroup(msgs, verdicts, reject, stats, done);
  });
  const pressure = pressureFlush(sinks, groups);
  return {
    handle(msg) {
      if (closed) return Promise.reject(new PipelineError('CLOSED', 'pipeline: handle after close'));
      stats.messages++;
      stats.inFlight++;
      let points: TelemetryPoint[];
      try {
        points = decode(msg);
      } catch (e) {
        const r = decodeRejection(e);
        const p = reject(msg, r.code, r.detail);
        p.then(() => done(1, 0), () => done(1, 1));
        flow.check();
        return p;
      }
      Object.freeze(points); // what every sink receives must not change between their writes (checked extras are shared)
      stats.points += points.length;
      if (rules !== undefined) for (const pt of points) raise(rules.evaluate(pt));
      const p = groups.add(points, msg); // joins the open write group synchronously, so a flush now includes it
      if (stats.inFlight >= flushAt) pressure();
      flow.check();
      return p;
    },
    stats: () => {
      const d = delivery.stats();
      return { ...stats, received: stats.messages, deadLettered: { ...stats.deadLettered }, held: d.held, outage: d.outage };
    },
    onFlowChange: (listener) => flow.onFlowChange(listener),
    flush: () => {
      groups.sendOpen();
      return flushAll(sinks);
    },
    async close() {
      if (closed) return;
      closed = true;
      stopTicker();
      groups.sendOpen(); // messages handed in before close go to the sinks, which flush as they close
      delivery.close(); // held messages are not acknowledged: the broker redelivers them
      await closeAll(sinks, deadLetter);
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
 * acknowledged (in arrival order) when {@link Pipeline.handle} resolves, and the consumer stops
 * reading while the pipeline holds messages for a sink that is down.
 *
 * Not executed here (it needs a broker):
 * ```text
 * const running = await runPipeline({ sinks: [lake, store], deadLetter, rules, onAlert },
 *   { url: 'mqtts://broker:8883', ca, cert, key, clientId: 'pipeline-1', group: 'pipeline' });
 * ```
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
    consumer = await connectIngest({ flow: pipeline, ...ingest }, (m) => pipeline.handle(m));
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
