/**
 * A JIT warm-up of the hot path before a stack reports ready. A fresh consumer ran its first
 * messages in V8's interpreter (and compiled each function lazily on its first call):
 * `bench/cold-start.ts` measured the synchronous part of `handle` at 3–4× its later CPU per
 * message over the first 1,000 messages, and the first second of `bench/latency.ts` held the
 * run's p99. Here synthetic messages go through a throwaway pipeline built from the same code —
 * the pipeline's decode options, a rule engine with the same rules, an alert dispatcher without
 * sinks, a sink that discards — in slices of one socket read, as the consumer hands them in.
 * Nothing is stored, no alert leaves, the real engine's state is untouched. Internal.
 */
import { AlertDispatcher } from './alert-dispatcher.js';
import { callbackDeadLetterSink } from './dead-letter.js';
import type { DecodeOptions } from './decode.js';
import { createPipeline } from './pipeline.js';
import { RuleEngine } from './rules.js';
import type { AlertEvent, Rule, RuleEngineOptions } from './rules-types.js';

/** Default number of synthetic messages (~0.1 s at start-up; 0 turns the warm-up off). */
export const WARM_UP_MESSAGES = 2_000;

const DEVICES = 16;
/** Messages per event-loop turn (about one 16 KiB socket read of telemetry). */
const SLICE = 128;

/** What {@link warmHotPath} needs of the stack's options. */
export interface WarmUpOptions {
  readonly decode: DecodeOptions | undefined;
  readonly rules: readonly Rule[] | undefined;
  readonly ruleOptions: RuleEngineOptions | undefined;
  readonly messages: number;
  /** The receive time given to the decoder (the stack clock's now: the points are not "too old"). */
  readonly now: number;
}

/**
 * Runs `messages` synthetic JSON messages (`devices/warm-N/telemetry`, the rules' own metrics
 * crossing their thresholds both ways, plus a text field) through a throwaway pipeline; see the
 * file comment. Never rejects: a warm-up that fails (options under which the synthetic messages
 * are dead letters, say) only warms less.
 */
export async function warmHotPath(options: WarmUpOptions): Promise<void> {
  if (options.messages <= 0) return;
  const { now } = options;
  const rules = options.rules !== undefined && options.rules.length > 0 ? new RuleEngine(options.rules, { ...(options.ruleOptions ?? {}), now: () => now }) : undefined;
  const alerts = new AlertDispatcher([]);
  const pipeline = createPipeline<AlertEvent>({
    sinks: [{ name: 'warm-up', write: async () => undefined, flush: async () => undefined, close: async () => undefined }],
    deadLetter: callbackDeadLetterSink(() => undefined),
    ...(rules !== undefined ? { rules, onAlert: (e: AlertEvent) => alerts.dispatch(e) } : {}),
    ...(options.decode !== undefined ? { decode: options.decode } : {}),
    tickMs: 0,
  });
  const metrics = [...new Set(['temperature', ...(options.rules ?? []).flatMap((r) => ('metric' in r && typeof r.metric === 'string' ? [r.metric] : []))])];
  const enc = new TextEncoder();
  const settled: Promise<unknown>[] = [];
  try {
    for (let i = 0; i < options.messages; i++) {
      const fields = metrics.map((m, k) => `${JSON.stringify(m)}:${((i * 7 + k * 13) % 200) - 50 + (i % 3) / 4}`).join(',');
      const payload = enc.encode(`{"ts":${now - (options.messages - i)},${fields},"state":"s${i % 4}"}`);
      settled.push(pipeline.handle({ topic: `devices/warm-${i % DEVICES}/telemetry`, payload, receivedAt: now }).catch(() => undefined));
      if (i % SLICE === SLICE - 1) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(settled);
  } finally {
    await pipeline.close().catch(() => undefined);
    await alerts.drain().catch(() => undefined);
  }
}
