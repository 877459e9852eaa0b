/**
 * The pipeline's limits and flow (internal): its options with their defaults, the flow it reports
 * to a consumer (held while a sink is down or too many messages are in flight), and the flush
 * that in-flight pressure starts.
 */
import { systemPipelineClock } from './clock.js';
import type { Delivery, DeliveryFailure } from './delivery.js';
import type { IncomingMessage } from './decode.js';
import type { PipelineErrorCode } from './errors.js';
import type { PipelineOptions } from './pipeline.js';
import type { TelemetrySink } from './types.js';
import { assertFunction, intOption } from './validate.js';
import type { WriteGroups } from './write-groups.js';

/** The clock and the limits of a pipeline, with their defaults (stated in {@link PipelineOptions}). */
export function pipelineLimits<E>(options: PipelineOptions<E>) {
  return {
    clock: options.clock ?? systemPipelineClock,
    tickMs: intOption('createPipeline: tickMs', options.tickMs, 1_000, 0),
    flushAt: intOption('createPipeline: flushAtInFlight', options.flushAtInFlight, 10_000, 1),
    maxInFlight: intOption('createPipeline: maxInFlight', options.maxInFlight, 20_000, 1),
    maxWritePoints: intOption('createPipeline: maxWritePoints', options.maxWritePoints, 4_096, 1),
    releasePerTurn: intOption('createPipeline: releasePerTurn', options.releasePerTurn, 1_024, 1),
  };
}

/**
 * The pipeline's flow: "held" while the delivery holds (a sink is down or stalled) or while
 * `maxInFlight` messages are in flight, until half of them are done.
 */
export function inFlightFlow(delivery: Delivery, maxInFlight: number, inFlight: () => number): { check(): void; onFlowChange(listener: (held: boolean) => void): () => void } {
  const listeners = new Set<(held: boolean) => void>();
  let full = false;
  let sinksHeld = false;
  let held = false;
  const update = (): void => {
    const h = full || sinksHeld;
    if (h === held) return;
    held = h;
    for (const l of listeners) {
      try {
        l(h);
      } catch {
        /* a listener's failure is not the pipeline's */
      }
    }
  };
  delivery.onFlowChange((h) => {
    sinksHeld = h;
    update();
  });
  return {
    check() {
      const n = inFlight();
      if (!full && n >= maxInFlight) full = true;
      else if (full && n <= maxInFlight / 2) full = false;
      else return;
      update();
    },
    onFlowChange(listener) {
      assertFunction('Pipeline.onFlowChange: listener', listener);
      listeners.add(listener);
      if (held) listener(true);
      return () => listeners.delete(listener);
    },
  };
}

/** Tells every sink to commit now (the open write group first); one such flush at a time. */
export function pressureFlush(sinks: readonly TelemetrySink[], groups: Pick<WriteGroups<unknown>, 'sendOpen'>): () => void {
  let flushing = false;
  return () => {
    if (flushing) return;
    flushing = true;
    groups.sendOpen();
    void Promise.allSettled(sinks.map((s) => s.flush())).then(() => {
      flushing = false;
    });
  };
}

/**
 * The outcomes of a write group some of whose messages a sink refused: those are dead-lettered
 * (the others are delivered). Resolves when every dead letter is durable; rejects when one could
 * not be written (that message is not acknowledged, and with it the rest of its group, whose
 * promise it shares: the broker redelivers them, the stores are idempotent by key).
 */
export async function finishGroup(
  msgs: readonly IncomingMessage[],
  verdicts: readonly (DeliveryFailure | undefined)[],
  reject: (msg: IncomingMessage, reason: PipelineErrorCode, detail: string, sink?: string) => Promise<void>,
  stats: { delivered: number },
  done: (n: number, failed: number) => void,
): Promise<void> {
  const letters: Promise<void>[] = [];
  msgs.forEach((m, i) => {
    const v = verdicts[i];
    if (v === undefined) stats.delivered++;
    else letters.push(reject(m, v.reason, v.detail, v.sink));
  });
  const r = await Promise.allSettled(letters);
  const failed = r.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
  done(msgs.length, failed.length);
  if (failed.length > 0) throw failed[0]?.reason;
}
