// The JetStream source alone: CPU per message of connectJetStreamIngest with a handler that does
// nothing, draining N messages prefilled into a one-node stream (what the source costs, without
// the pipeline's sinks). Compare with bench/session.ts (the MQTT consumer session alone).
//   npx tsx --conditions=@outpost/source packages/pipeline/bench/jetstream-source.ts [N]
import { loadavg } from 'node:os';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { connectJetStreamIngest } from '@outpost/pipeline';
import { startNatsCluster } from '@outpost/test-peers';

const N = Number(process.argv[2] ?? 20_000);
const nats = await startNatsCluster({ nodes: 1 });
try {
  const nc = await connect({ servers: nats.urls.map((u) => u.replace('nats://', '')) });
  const first = await connectJetStreamIngest({ servers: nats.urls, insecure: true, replicas: 1 }, async () => undefined);
  await first.close(); // creates the stream and the consumer
  const js = jetstream(nc);
  const inflight = new Set<Promise<unknown>>();
  for (let i = 0; i < N; i++) {
    const p = js.publish(`devices.d${i % 20}.telemetry`, JSON.stringify({ ts: Date.now(), v: i }));
    inflight.add(p);
    void p.then(() => inflight.delete(p));
    if (inflight.size >= 512) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const ingest = await connectJetStreamIngest({ servers: nats.urls, insecure: true, replicas: 1 }, async () => undefined);
  while (ingest.stats().acked < N) await new Promise((r) => setTimeout(r, 5));
  const ms = performance.now() - t0;
  const c = process.cpuUsage(cpu0);
  console.log(`JetStream source, no-op handler: ${N} messages, ${Math.round((N / ms) * 1000).toLocaleString('en-US')} msg/s, ${((c.user + c.system) / N).toFixed(1)} µs CPU per message (load ${loadavg()[0]?.toFixed(1)})`);
  await ingest.close();
  await nc.close();
} finally {
  await nats.stop();
}
