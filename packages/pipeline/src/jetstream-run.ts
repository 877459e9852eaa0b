/**
 * A pipeline fed by the JetStream source: {@link runJetStreamPipeline}, the JetStream twin of
 * `runPipeline`.
 */
import type { DeadLetterSink } from './dead-letter.js';
import { openJetStreamIngest, type JetStreamIngest, type JetStreamIngestOptions } from './jetstream-ingest.js';
import { createPipeline, type Pipeline, type PipelineOptions } from './pipeline.js';
import { assertObject } from './validate.js';

/** A pipeline fed by a JetStream consumer. */
export interface RunningJetStreamPipeline {
  readonly pipeline: Pipeline;
  readonly ingest: JetStreamIngest;
  /** Stops pulling (pending messages finish and are acknowledged), then closes the pipeline. */
  close(): Promise<void>;
}

/**
 * Wraps the dead-letter sink to learn which messages were rejected (their payload object is the
 * one handed in): those are terminated (`+TERM`) instead of acknowledged.
 */
function watchRejections(sink: DeadLetterSink): { sink: DeadLetterSink; rejected: WeakSet<Uint8Array> } {
  const rejected = new WeakSet<Uint8Array>();
  return {
    rejected,
    sink: {
      name: sink.name,
      async write(letter) {
        await sink.write(letter);
        rejected.add(letter.payload);
      },
      close: () => sink.close(),
    },
  };
}

/**
 * Connects a JetStream consumer ({@link connectJetStreamIngest}) to a pipeline built from
 * `options`: delivered messages are acknowledged, dead-lettered ones terminated, failed ones
 * naked with a delay, and pulling stops while the pipeline holds messages for a sink that is down.
 *
 * Not executed here (it needs a NATS cluster):
 * ```text
 * const running = await runJetStreamPipeline({ sinks: [lake, store], deadLetter },
 *   { servers: ['tls://nats-1:4222'], ca, cert, key, durable: 'pipeline' });
 * ```
 *
 * @example
 * ```ts
 * import { runJetStreamPipeline, startBridge, callbackDeadLetterSink, type TelemetryPoint } from '@outpost/pipeline';
 * import { startMosquitto, startNatsCluster, tempDir } from '@outpost/test-peers';
 * import { connectAsync } from 'mqtt';
 * // Device → Mosquitto → bridge → JetStream → pipeline, all local; in production TLS everywhere.
 * const dir = tempDir();
 * const broker = await startMosquitto({ dir: dir.path, config: (port) => `listener ${port} 127.0.0.1\nallow_anonymous true\n` });
 * const nats = await startNatsCluster({ nodes: 1 });
 * const url = `mqtt://127.0.0.1:${broker.port}`;
 * const bridge = await startBridge({ from: { url, insecure: true, clientId: 'bridge-1' }, to: { servers: nats.urls, insecure: true, replicas: 1 } });
 * const stored: TelemetryPoint[] = [];
 * const memory = { name: 'memory', write: async (p: readonly TelemetryPoint[]) => { stored.push(...p); }, flush: async () => {}, close: async () => {} };
 * const dead: string[] = [];
 * const running = await runJetStreamPipeline({ sinks: [memory], deadLetter: callbackDeadLetterSink((l) => { dead.push(l.reason); }) }, { servers: nats.urls, insecure: true, replicas: 1 });
 * const device = await connectAsync(url, { clientId: 'pump-1' });
 * await device.publishAsync('devices/pump-1/telemetry', '{"temperature": 21.5}', { qos: 1 });
 * await device.publishAsync('devices/pump-1/telemetry', '{"temperature": ', { qos: 1 });
 * while (running.ingest.stats().acked + running.ingest.stats().termed < 2) await new Promise((r) => setTimeout(r, 10));
 * stored.map((p) => `${p.device} ${p.metric} ${p.value}`); // ['pump-1 temperature 21.5']
 * dead; // ['DECODE_FAILED']
 * running.ingest.stats().termed; // 1
 * await device.endAsync();
 * await bridge.close();
 * await running.close();
 * await nats.stop();
 * await broker.stop();
 * dir.cleanup();
 * ```
 */
export async function runJetStreamPipeline<E>(options: PipelineOptions<E>, ingest: JetStreamIngestOptions): Promise<RunningJetStreamPipeline> {
  assertObject('runJetStreamPipeline: options', options);
  assertObject('runJetStreamPipeline: options.deadLetter', options.deadLetter);
  const watched = watchRejections(options.deadLetter);
  const pipeline = createPipeline({ ...options, deadLetter: watched.sink });
  return runOn(pipeline, watched.rejected, ingest, options.deadLetter);
}

/** Feeds an existing pipeline (one from `openPipelineStack`) from JetStream; `rejectedPayloads` as in {@link runJetStreamPipeline}. */
export async function runOn(pipeline: Pipeline, rejected: WeakSet<Uint8Array> | undefined, ingest: JetStreamIngestOptions, deadLetter?: DeadLetterSink): Promise<RunningJetStreamPipeline> {
  let consumer: JetStreamIngest;
  try {
    // The pipeline's promise itself (one per write group, shared by its messages), not an async
    // wrapper per message: the source gives a write group one reaction, and no suspended function
    // per message lives until the group commits. Dead-lettered messages are told by `rejected`.
    consumer = await openJetStreamIngest(
      { flow: pipeline, ...ingest },
      (m, info) => {
        if (info.oversizedBytes !== undefined && deadLetter !== undefined) {
          // The bridge's stand-in for a payload the cluster could not take: an OVERSIZED dead letter, then +TERM.
          return deadLetter.write({ topic: m.topic, payload: m.payload, reason: 'OVERSIZED', detail: `payload of ${info.oversizedBytes} bytes exceeds the NATS servers' max_payload; the bridge stored an empty stand-in`, receivedAt: m.receivedAt }).then(() => 'rejected' as const);
        }
        return pipeline.handle(m);
      },
      rejected === undefined ? undefined : (payload) => rejected.has(payload),
    );
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

export { watchRejections };
