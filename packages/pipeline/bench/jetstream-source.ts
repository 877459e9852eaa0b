// The JetStream source alone: CPU per message of connectJetStreamIngest with a handler that does
// nothing, draining N messages prefilled into a one-node stream (what the source costs, without
// the pipeline's sinks). The messages carry the headers the bridge sets (`Nats-Msg-Id`,
// `Outpost-Received-At`), so header parsing is in the figure. Compare with bench/session.ts (the
// MQTT consumer session alone).
//   npx tsx --conditions=@outpost/source packages/pipeline/bench/jetstream-source.ts [N]
//   ROUNDS=3 (drains of N each, one stream, printed each and as a median); BATCH=… (messages per pull);
//   PROFILE=file.cpuprofile (a CPU profile of the drains only, taken in process)
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import { connectJetStreamIngest } from '@outpost/pipeline';
import { startNatsCluster } from '@outpost/test-peers';

const N = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.env['ROUNDS'] ?? 3);
const BATCH = process.env['BATCH'] !== undefined ? { batch: Number(process.env['BATCH']) } : {};
const nats = await startNatsCluster({ nodes: 1 });
const profile = process.env['PROFILE'] !== undefined ? new Session() : undefined;
try {
  const nc = await connect({ servers: nats.urls.map((u) => u.replace('nats://', '')), noAsyncTraces: true });
  const first = await connectJetStreamIngest({ servers: nats.urls, insecure: true, replicas: 1 }, async () => undefined);
  await first.close(); // creates the stream and the consumer
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  profile?.connect();
  await profile?.post('Profiler.enable');
  const rates: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    await jsm.streams.purge('TELEMETRY');
    const inflight = new Set<Promise<unknown>>();
    for (let i = 0; i < N; i++) {
      const h = headers();
      h.set('Outpost-Received-At', String(Date.now()));
      h.set('Nats-Msg-Id', `r${r}-${i}`);
      const p = js.publish(`devices.d${i % 20}.telemetry`, JSON.stringify({ ts: Date.now(), v: i }), { headers: h });
      inflight.add(p);
      void p.then(() => inflight.delete(p));
      if (inflight.size >= 512) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    if (r === ROUNDS - 1) await profile?.post('Profiler.start');
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const ingest = await connectJetStreamIngest({ servers: nats.urls, insecure: true, replicas: 1, ...BATCH }, async () => undefined);
    while (ingest.stats().acked < N) await new Promise((res) => setTimeout(res, 5));
    const ms = performance.now() - t0;
    const c = process.cpuUsage(cpu0);
    const s = ingest.stats();
    rates.push((N / ms) * 1000);
    cpus.push((c.user + c.system) / N);
    console.log(`  round ${r + 1}: ${Math.round((N / ms) * 1000).toLocaleString('en-US')} msg/s, ${((c.user + c.system) / N).toFixed(1)} µs CPU per message, ${(s.received / Math.max(1, s.pulls)).toFixed(0)} messages per pull (load ${loadavg()[0]?.toFixed(1)})`);
    await ingest.close();
  }
  if (profile !== undefined) {
    const { profile: p } = await profile.post('Profiler.stop');
    writeFileSync(process.env['PROFILE'] as string, JSON.stringify(p));
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  console.log(`RESULT JetStream source, no-op handler: ${N} messages × ${ROUNDS}: median ${Math.round(med(rates)).toLocaleString('en-US')} msg/s, ${med(cpus).toFixed(1)} µs CPU per message (load ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  await nc.close();
} finally {
  profile?.disconnect();
  await nats.stop();
}
