// Hot-path latency: from a device's publish to the alert callback, through Mosquitto on
// loopback (mutual TLS on both sides), at RATE messages/s, with both paths running (every point
// also goes to the Parquet lake and the DuckDB store). A forked publisher process holds DEVICES
// device connections; every message alternates 90 °C / 70 °C, so each one fires or resolves an
// overheat episode and yields exactly one alert event.
// MAX_WRITE_POINTS=1 RELEASE_PER_TURN=1000000: the pipeline as before write groups (A/B runs);
// DUCK_THREADS=N: the DuckDB store with N worker threads (default: DuckDB's own, one per core).
// DUCK_INTERVAL=MS: the DuckDB store's groupCommitIntervalMs (default 100; 0 commits every idle turn, as before session 7).
// WARM_UP=0: no JIT warm-up of the decode and rules code when the stack opens (default 2,000 messages).
// PUBLISHER_WARMUP=S: the publisher first sends S seconds of the same traffic to a topic the
// consumer does not subscribe to (devices/<id>/bench-warmup), warming the publisher process and
// Mosquitto but not the pipeline; off by default (the figures in the README are without it
// unless said). It tells the pipeline's own first second from the publisher's and the broker's.
// STAGES=1 (a debug run; off by default): also prints how long each message waited inside the
// publisher before its bytes could leave (mqtt-packet corks the socket until the tick's loop
// ends) and the handler → alert callback time, to take the median apart.
//   npx tsx --conditions=@outpost/source packages/pipeline/bench/latency.ts [RATE] [SECONDS]
import { fork } from 'node:child_process';
import { cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { tempDir } from '@outpost/test-peers';
import { AlertDispatcher, callbackAlertSink, callbackDeadLetterSink, connectIngest, createPipeline, openPipelineStack, RuleEngine, type AlertEvent, type AlertSink, type Rule } from '@outpost/pipeline';

/** The hot path alone: rules and alert delivery, no sinks. */
function hotOnly(rules: Rule[], sink: AlertSink) {
  const alerts = new AlertDispatcher([sink]);
  const pipeline = createPipeline<AlertEvent>({ sinks: [], deadLetter: callbackDeadLetterSink(() => {}), rules: new RuleEngine(rules), onAlert: (e) => alerts.dispatch(e) });
  return { pipeline, stats: () => ({ lake: undefined, store: undefined }), close: () => pipeline.close() };
}
import { startFleet } from '../../device-sdk/test/fixtures/fleet.js';
import { abOptions, benchDevices } from './ingest-data.js';

const RATE = Number(process.argv[2] ?? 5000);
const SECONDS = Number(process.argv[3] ?? 10);
const DEVICES = Number(process.env['DEVICES'] ?? 50);
// PATHS=hot: no sinks at all (the hot path alone), for comparison; PATHS=lake: the lake only.
const PATHS = process.env['PATHS'] ?? 'both';
// TICK_MS=N: the publisher sends every N ms (default 10: at 5,000/s all 50 devices publish at once,
// a synchronised burst); TICK_MS=1 spreads the same rate over 1 ms ticks of 5 devices each, closer
// to a fleet whose devices are not in step. The README's figures are the default unless said.
const TICK_MS = Number(process.env['TICK_MS'] ?? 10);
if (!Number.isInteger(TICK_MS) || TICK_MS < 1 || ((RATE * TICK_MS) / 1000) % 1 !== 0) throw new RangeError(`TICK_MS: expected a whole number of ms giving whole messages per tick at ${RATE}/s`);
const now = (): number => performance.timeOrigin + performance.now();
const ms = (ns: number): string => (ns / 1e6).toFixed(1);

const fleet = await startFleet();
const tmp = tempDir('outpost-bench-latency-');
try {
  const app = await fleet.device('app-observer');
  const devices = await benchDevices(fleet, DEVICES, 'bench');
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const arrivals: number[] = []; // publish → the consumer's handler (broker, sockets, both event loops)
  const perSecond: number[][] = []; // latencies by the second of the run they were sent in
  const arrivalsPerSecond: number[][] = []; // publish → handler, by the second they were sent in
  const loopPerSecond: string[] = []; // the consumer's event-loop delay p99/max of each second
  const cpuPerSecond: number[] = []; // CPU ms of this process (every thread) in each second: load-robust
  let firstSent = 0;
  const STAGES = process.env['STAGES'] === '1';
  const handleToAlert: number[] = []; // STAGES=1: the handler's entry → the alert callback (synchronous: the hot path in the pipeline)
  let handlerAt = 0;
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const rules = [{ id: 'overheat', kind: 'threshold' as const, metric: 'temperature', above: 80, clearAt: 75 }];
  const timer = callbackAlertSink((e) => {
    const t = now();
    if (STAGES) handleToAlert.push(t - handlerAt);
    const key = `${e.device}/${e.at}`;
    const s = sentAt.get(key);
    if (s !== undefined) {
      latencies.push(t - s);
      if (firstSent === 0) firstSent = s;
      (perSecond[Math.max(0, Math.floor((s - firstSent) / 1000))] ??= []).push(t - s);
      sentAt.delete(key);
    }
  });
  const stack = PATHS === 'hot'
    ? hotOnly(rules, timer)
    : await openPipelineStack({
      lakeDir: join(tmp.path, 'lake'),
      duckdb: PATHS === 'lake' ? false : { path: join(tmp.path, 'timeseries.duckdb'), ...(process.env['DUCK_THREADS'] !== undefined ? { threads: Number(process.env['DUCK_THREADS']) } : {}), ...(process.env['DUCK_INTERVAL'] !== undefined ? { groupCommitIntervalMs: Number(process.env['DUCK_INTERVAL']) } : {}) },
      lake: { maxAgeMs: 1000, ...(process.env['ENCODER'] === 'inline' ? { encoder: 'inline' as const } : {}) },
      rules,
      alertSinks: [timer],
      ...abOptions(),
      ...(process.env['WARM_UP'] !== undefined ? { warmUpMessages: Number(process.env['WARM_UP']) } : {}),
    });
  const ingest = await connectIngest(
    { url: fleet.url, ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, clientId: 'bench-pipeline', group: 'bench', flow: stack.pipeline },
    (m) => {
      // The bench's own bookkeeping: the send time rides in the payload (a second JSON.parse, so
      // the figures include it).
      const p = JSON.parse(new TextDecoder().decode(m.payload)) as { ts: number; sent: string };
      sentAt.set(`${m.topic.split('/')[1] ?? ''}/${p.ts}`, Number(p.sent));
      arrivals.push(now() - Number(p.sent));
      if (firstSent !== 0) (arrivalsPerSecond[Math.max(0, Math.floor((Number(p.sent) - firstSent) / 1000))] ??= []).push(now() - Number(p.sent));
      if (STAGES) handlerAt = now();
      return stack.pipeline.handle(m);
    },
  );
  const child = fork(join(import.meta.dirname, 'latency-publisher.ts'), { stdio: 'inherit' });
  const done = new Promise<{ sent: number; seconds: number; loop: string; held?: string }>((resolve, reject) => {
    child.on('message', (m: { done?: boolean; sent: number; seconds: number; loop: string; held?: string }) => { if (m.done === true) resolve(m); });
    child.on('exit', (code) => { if (code !== 0) reject(new Error(`publisher exited with ${code}`)); });
  });
  child.send({ url: fleet.url, ca: fleet.ca.certificatePem, devices, rate: RATE, seconds: SECONDS, warmupSeconds: Number(process.env['PUBLISHER_WARMUP'] ?? 0), stages: process.env['STAGES'] === '1', tickMs: TICK_MS });
  loop.enable();
  const second = monitorEventLoopDelay({ resolution: 1 });
  second.enable();
  let cpu = process.cpuUsage();
  const tick = setInterval(() => {
    loopPerSecond.push(`${ms(second.percentile(99))}/${ms(second.max)}`);
    second.reset();
    const used = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    cpuPerSecond.push(Math.round((used.user + used.system) / 1000));
  }, 1000);
  const pub = await done;
  clearInterval(tick);
  second.disable();
  loop.disable();
  const deadline = Date.now() + 30_000;
  while (latencies.length < pub.sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await ingest.close();
  await stack.close();
  const s = stack.stats();
  latencies.sort((a, b) => a - b);
  arrivals.sort((a, b) => a - b);
  const q = (p: number, xs = latencies): number => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? Number.NaN;
  console.log(`\nPublish → alert callback through Mosquitto (mTLS, loopback), sinks: ${PATHS === 'hot' ? 'none (hot path only)' : PATHS === 'lake' ? 'the lake' : 'the lake and DuckDB'} (node ${process.version}, ${cpus().length} cores)`);
  console.log(`  offered ${RATE} msg/s for ${SECONDS} s from ${DEVICES} devices in ticks of ${TICK_MS} ms: sent ${pub.sent} in ${pub.seconds.toFixed(2)} s (${Math.round(pub.sent / pub.seconds)} msg/s)`);
  console.log(`  alert events timed: ${latencies.length} of ${pub.sent}; lake rows ${s.lake?.rows ?? '-'}, store rows ${String((s.store as { rows?: number } | undefined)?.rows ?? '-')} in ${String((s.store as { batches?: number } | undefined)?.batches ?? '-')} commits`);
  console.log(`  latency ms: median ${q(0.5).toFixed(2)}  p90 ${q(0.9).toFixed(2)}  p99 ${q(0.99).toFixed(2)}  max ${(latencies.at(-1) ?? Number.NaN).toFixed(2)}`);
  console.log(`  of which publish → handler ms: median ${q(0.5, arrivals).toFixed(2)}  p90 ${q(0.9, arrivals).toFixed(2)}  p99 ${q(0.99, arrivals).toFixed(2)}  max ${(arrivals.at(-1) ?? Number.NaN).toFixed(2)}`);
  if (pub.held !== undefined) console.log(`  of which inside the publisher (its tick loop: stamped, then corked until the loop ends), ms: ${pub.held}`);
  const handled = handleToAlert.sort((a, b) => a - b);
  if (handled.length > 0) console.log(`  handler → alert callback (decode, rules, dispatch) ms: median ${q(0.5, handled).toFixed(3)}  p99 ${q(0.99, handled).toFixed(3)}`);
  console.log(`  p99 per second of the run, ms: ${perSecond.map((xs) => q(0.99, xs.sort((a, b) => a - b)).toFixed(0)).join(' ')}`);
  console.log(`  of which publish → handler, p99 per second, ms: ${arrivalsPerSecond.map((xs) => q(0.99, xs.sort((a, b) => a - b)).toFixed(0)).join(' ')}`);
  console.log(`  consumer event-loop delay per second of the run (from the publisher's start), p99/max ms: ${loopPerSecond.join(' ')}`);
  console.log(`  consumer process CPU per second of the run, ms (all threads; the load moves it little): ${cpuPerSecond.join(' ')}`);
  console.log(`  event-loop delay ms, consumer: p50 ${ms(loop.percentile(50))}  p99 ${ms(loop.percentile(99))}  max ${ms(loop.max)}; publisher: ${pub.loop}`);
} finally {
  await fleet.stop();
  tmp.cleanup();
}
