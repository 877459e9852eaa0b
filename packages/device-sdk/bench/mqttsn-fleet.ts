/**
 * Gateway QoS 1 forwarding at fleet scale against MQTT.js straight to Mosquitto. The devices run
 * in a separate process (test/fixtures/mqttsn-load-clients.ts), and so does the observer
 * (bench/fleet-observer.ts, an application subscribed on the broker), so the bench process holds
 * only what is measured: the gateway, or nothing for the baseline. Each round runs
 *
 *   - MQTT.js direct: 10 MQTT.js clients straight to Mosquitto (mTLS), QoS 1, one in flight each;
 *   - gateway, 10 clients: 10 MQTT-SN clients through MqttSnGateway (one broker connection each);
 *   - gateway, 1,000 clients: the same total through 1,000 MQTT-SN clients;
 *   - with `--links=…,agg`: the same two rows through an aggregating gateway (mode
 *     'aggregating': one broker connection for all clients, the gateway authorising each);
 *
 * interleaved (direct and gateway-10 alternate which goes first), `--runs` rounds in one broker.
 *
 * Two figures per row, both over the publish phase only (connects excluded):
 *   - msg/s: messages acknowledged per second (first publish to last acknowledgement, in the
 *     client process);
 *   - CPU µs per message of everything on the path: the client process (its own cpuUsage), this
 *     process (the gateway; idle for the direct row) and
 *     Mosquitto (utime + stime from /proc/PID/stat, 10 ms ticks). CPU per message is what a
 *     loaded machine distorts least: the rate waits on the scheduler, the CPU spent does not.
 *
 * Wake-ups per message: voluntary context switches of the device process's and the gateway's main
 * thread over the publish phase (/proc/PID/task/PID/status), i.e. how often each event loop
 * slept and was woken; 1 means one wake-up per message, lower means several messages per wake-up.
 *
 * The observer's CPU is shown apart (the same work on both paths, not in the total). It checks
 * every message arrived. All use one identity (the gateway's
 * certificate, useGatewayIdentity 'always'), the same QoS, payloads and TLS, so the rows differ
 * only in the path.
 *
 * Needs mosquitto. Run from the repository root:
 *
 *   npx tsx --conditions=@outpost/source packages/device-sdk/bench/mqttsn-fleet.ts [--runs=3] [--warmup=1] [--messages=5000] [--no-1000] [--links=default,agg,mqttjs]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { MqttSnGateway } from '@outpost/device-sdk/mqtt-sn';
import { startFleet } from '../test/fixtures/fleet.js';
import { connectMqttJsLink } from './mqttjs-link.js';

const arg = (name: string, dflt: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? dflt : Number(a.slice(name.length + 3));
};
const RUNS = arg('runs', 3);
// Unreported rounds first (both paths): the gateway runs in this long-lived process, so its first
// round also pays V8's compilation of the forward path, which a running gateway has long behind it.
const WARMUP = arg('warmup', 1);
const TOTAL = arg('messages', 5000);
const WITH_1000 = !process.argv.includes('--no-1000');
/** Extra node flags for the device processes, e.g. OUTPOST_BENCH_CHILD_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' (NODE_OPTIONS refuses --cpu-prof). */
const CHILD_NODE_ARGS = (process.env['OUTPOST_BENCH_CHILD_ARGS'] ?? '').split(' ').filter((a) => a !== '');
/** `--links=default,agg,mqttjs`: one gateway per broker link in the same run (mqttjs: the previous MQTT.js link; agg: the aggregating mode), for an A/B. */
const LINKS = (process.argv.find((x) => x.startsWith('--links='))?.slice(8) ?? 'default,agg').split(',') as Array<'default' | 'mqttjs' | 'agg'>;

const fleet = await startFleet({ maxQueuedMessages: 0 });
const id = await fleet.device('gw-1');
const app = await fleet.device('app-observer');
const dir = mkdtempSync(join(tmpdir(), 'mqttsn-fleet-'));
for (const [k, v] of Object.entries({ CA: fleet.ca.certificatePem, CERT: id.cert, KEY: id.key, APPCERT: app.cert, APPKEY: app.key })) writeFileSync(join(dir, k), v);
// The observer is an application on the broker in its own process, as in a deployment: inside
// this process it took a third of the gateway's one thread, which the direct path never paid.
const observer = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outpost/source', fileURLToPath(new URL('./fleet-observer.ts', import.meta.url))], {
  stdio: ['pipe', 'pipe', 'inherit'],
  env: { ...process.env, OUTPOST_OBS_URL: fleet.url, OUTPOST_OBS_CA: join(dir, 'CA'), OUTPOST_OBS_CERT: join(dir, 'APPCERT'), OUTPOST_OBS_KEY: join(dir, 'APPKEY'), OUTPOST_OBS_FILTER: 'devices/gw-1/#' },
});
const observerLines = createInterface({ input: observer.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
await observerLines.next(); // ready
/** The observer's count and CPU (µs) so far; `reset` zeroes the count first. */
async function ask(cmd: 'count' | 'reset'): Promise<{ seen: number; cpuUs: number }> {
  observer.stdin?.write(`${cmd}\n`);
  const [seen, cpuUs] = String((await observerLines.next()).value).split(' ').map(Number) as [number, number];
  return { seen, cpuUs };
}

const gateways = new Map<string, MqttSnGateway>();
for (const link of LINKS) {
  const gw = new MqttSnGateway({
    udp: { host: '127.0.0.1', port: 0 },
    broker: { url: fleet.url, ca: fleet.ca.certificatePem },
    identity: { clientId: 'gw-1', cert: id.cert, key: id.key },
    maxClients: 1100,
    ...(link === 'mqttjs' ? { connectBroker: (r) => connectMqttJsLink({ url: fleet.url, ca: fleet.ca.certificatePem }, r) } : {}),
    // Aggregating: one connection as gw-1; the load clients publish to devices/gw-1/<prefix>/<i>, so that is their namespace here.
    ...(link === 'agg' ? { mode: 'aggregating' as const, admit: (c: string) => c.startsWith('sn'), namespace: ['devices/gw-1/#'] } : { useGatewayIdentity: 'always' as const }),
  });
  await gw.start();
  gateways.set(link, gw);
}
const script = fileURLToPath(new URL('../test/fixtures/mqttsn-load-clients.ts', import.meta.url));
const brokerPid = fleet.broker.pid() as number;

/** Voluntary context switches of a process's main thread so far: how often its event loop slept and woke. */
function wakeups(pid: number): number {
  try {
    return Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** Mosquitto's CPU so far, µs (utime + stime, fields 14 and 15 of /proc/PID/stat, 100 Hz ticks). */
function brokerCpuUs(): number {
  const stat = readFileSync(`/proc/${brokerPid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

interface Row { path: string; clients: number; ok: number; seen: number; failed: number; retx: number; rate: number; cpuClients: number; cpuHere: number; cpuBroker: number; cpuTotal: number; cpuObserver: number; wakeGw: number; wakeDev: number; load: string }

async function run(label: string, clients: number, link: string | undefined): Promise<Row> {
  const obs0 = await ask('reset');
  const mode = link === undefined ? 'mqtt' : 'sn';
  const gw = gateways.get(link ?? LINKS[0] as string) as MqttSnGateway;
  const prefix = `${mode}${clients}${link ?? ''}`;
  const child = spawn(process.execPath, [...CHILD_NODE_ARGS, '--import', 'tsx', '--conditions=@outpost/source', script, String(gw.address().port), String(clients), String(TOTAL / clients), '1e12', 'gw-1', prefix, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, OUTPOST_LOAD_URL: fleet.url, OUTPOST_LOAD_CA: join(dir, 'CA'), OUTPOST_LOAD_CERT: join(dir, 'CERT'), OUTPOST_LOAD_KEY: join(dir, 'KEY') },
  });
  let stdout = '';
  let here0 = process.cpuUsage();
  let broker0 = 0;
  let here = 0;
  let broker = 0;
  let wake0 = { gw: 0, dev: 0 };
  let wake = { gw: NaN, dev: NaN };
  child.stdout.on('data', (d: Buffer) => {
    const before = stdout;
    stdout += d.toString();
    // Sample this process and the broker at the child's phase markers (publish phase only).
    if (!before.includes('phase publish\n') && stdout.includes('phase publish\n')) {
      here0 = process.cpuUsage();
      broker0 = brokerCpuUs();
      wake0 = { gw: wakeups(process.pid), dev: wakeups(child.pid as number) };
    }
    if (!before.includes('phase done\n') && stdout.includes('phase done\n')) {
      const c = process.cpuUsage(here0);
      here = c.user + c.system;
      broker = brokerCpuUs() - broker0;
      wake = { gw: wakeups(process.pid) - wake0.gw, dev: wakeups(child.pid as number) - wake0.dev };
    }
  });
  await new Promise((r) => child.on('exit', r));
  const out = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { published: number; failed: number; retransmissions: number; publishMs: number; publishCpuUs: number };
  const end = Date.now() + 10_000;
  let obs = await ask('count');
  while (obs.seen < out.published && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    obs = await ask('count');
  }
  const n = Math.max(1, out.published);
  const per = (us: number): number => Math.round(us / n);
  return {
    path: label, clients, ok: out.published, seen: obs.seen, failed: out.failed, retx: out.retransmissions,
    rate: Math.round((out.published / out.publishMs) * 1000),
    cpuClients: per(out.publishCpuUs), cpuHere: per(here), cpuBroker: per(broker), cpuTotal: per(out.publishCpuUs + here + broker),
    cpuObserver: per(obs.cpuUs - obs0.cpuUs),
    wakeGw: Number((wake.gw / n).toFixed(2)), wakeDev: Number((wake.dev / n).toFixed(2)),
    load: loadavg().map((l) => l.toFixed(1)).join(' '),
  };
}

const table = (rows: Row[]): void => console.table(rows.map((r) => ({
  path: r.path, clients: r.clients, acknowledged: r.ok, 'at observer': r.seen, failed: r.failed, 'client retx': r.retx, 'msg/s': r.rate,
  'CPU µs/msg clients': r.cpuClients, 'gateway (bench proc)': r.cpuHere, broker: r.cpuBroker, total: r.cpuTotal, 'observer (not in total)': r.cpuObserver, 'wake-ups/msg devices': r.wakeDev, 'wake-ups/msg gateway': r.wakeGw, 'load 1/5/15': r.load,
})));

console.log(`node ${process.version}; QoS 1, ${TOTAL} messages per row, 16-byte payloads ("i:k"), devices in a separate process; gateway broker link(s): ${LINKS.join(', ')}; ${RUNS} round(s), load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const summary: Array<Record<string, string | number>> = [];
const label = (link: string): string => (link === 'agg' ? 'gateway (aggregating)' : LINKS.length > 1 ? `gateway (${link} link)` : 'gateway');
for (let w = 0; w < WARMUP; w++) {
  await run('MQTT.js direct', 10, undefined);
  for (const link of LINKS) await run(label(link), 10, link);
  console.log(`warm-up round ${w + 1} (not reported)`);
}
for (let i = 0; i < RUNS; i++) {
  // Rotate the order of the 10-client rows so no side always runs on a warmer (or busier) machine.
  const order: Array<string | undefined> = [undefined, ...LINKS];
  const rotated = [...order.slice(i % order.length), ...order.slice(0, i % order.length)];
  const rows: Row[] = [];
  for (const link of rotated) rows.push(await run(link === undefined ? 'MQTT.js direct' : label(link), 10, link));
  const direct = rows.find((r) => r.path === 'MQTT.js direct') as Row;
  if (WITH_1000) for (const link of LINKS.filter((l) => l !== 'mqttjs')) rows.push(await run(label(link), 1000, link));
  console.log(`round ${i + 1}`);
  table(rows);
  for (const link of LINKS) {
    const g10 = rows.find((r) => r.path === label(link) && r.clients === 10) as Row;
    const g1000 = rows.find((r) => r.path === label(link) && r.clients === 1000);
    summary.push({
      round: i + 1,
      link,
      'gw10/direct msg/s': Number((g10.rate / direct.rate).toFixed(2)),
      'gw1000/gw10 msg/s': g1000 === undefined ? '-' : Number((g1000.rate / g10.rate).toFixed(2)),
      'CPU µs/msg direct': direct.cpuTotal,
      'CPU µs/msg gw10': g10.cpuTotal,
      'CPU direct/gw10': Number((direct.cpuTotal / g10.cpuTotal).toFixed(2)),
      'gateway µs/msg': g10.cpuHere,
      'CPU µs/msg gw1000': g1000?.cpuTotal ?? '-',
      load: direct.load,
    });
  }
}
console.log('summary (goal: gw10/direct ≥ 0.8 and gw1000/gw10 ≥ 0.8 in every round)');
console.table(summary);
for (const link of LINKS) {
  const met = summary.filter((s) => s.link === link && (s['gw10/direct msg/s'] as number) >= 0.8 && (s['gw1000/gw10 msg/s'] === '-' || (s['gw1000/gw10 msg/s'] as number) >= 0.8)).length;
  console.log(`goal met in ${met} of ${RUNS} round(s) (${link === 'agg' ? 'aggregating gateway' : `${link} link`})`);
}
for (const gw of gateways.values()) await gw.close();
observer.stdin?.end();
await new Promise((r) => observer.on('exit', r));
await fleet.stop();
rmSync(dir, { recursive: true, force: true });
