// The rollout test: 50 device agents through a real Mosquitto with mTLS and the per-device
// ACL of brokerConfig() (each device its own $aws/things/{id}/{jobs,streams}/# only), the
// reference jobs service and a stream server (each on its own identity), and the rollout
// controller as its own process (`outpost ota rollout start`). A release rolls out canary → 1% →
// 10% → 100%; hardware revision rev-b fails its health check, those devices roll back on their
// own, and the controller halts at the 10 % wave. Faults on the way:
// - the broker is restarted during the canary wave;
// - a canary device is offline for the whole canary wave and picks its job up when it returns;
// - a stream block to a canary device is corrupted in transit: refused by the block digest, fetched again;
// - two devices of the 10 % wave are `kill -9`'d mid-download and resume from their journalled offset;
// - the controller is `kill -9`'d mid-wave (10 %) and started again on its state directory.
// 48 agents run in worker threads (one agent per thread, the code of `outpost ota agent`, bundled
// once with esbuild so a thread starts in ~0.2 s of CPU instead of ~1 s through tsx); the two
// that are killed are real `outpost ota agent` processes under a supervisor.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeDataBlock } from '@outpost/jobs';
import { planRollout, type RolloutPlan } from '@outpost/ota';
import { tempDir } from '@outpost/test-peers';
import { run } from '../src/run.js';
import { CAPACITY, killMidDownload, startOtaFleet, supervise, type agentProcess, type OtaFleet } from './fixtures/ota-fleet.js';
import type { AgentWorkerData } from './fixtures/ota-agent-worker.js';

const tmp = tempDir('outpost-rollout-fleet-');
const MAIN = join(import.meta.dirname, '..', 'src', 'main.ts');
const N = 50;
const ids = Array.from({ length: N }, (_, i) => `dev-${String(i).padStart(2, '0')}`);
const CANARY = ['dev-00', 'dev-01', 'dev-02'];
const OFFLINE = 'dev-02';
const CORRUPTED = 'dev-00';
const image = new Uint8Array(randomBytes(128 * 1024 + 13));
const CONTROLLER = 'ops-rollout';
let f: OtaFleet;
let bundle: string;
const workers = new Map<string, Worker>();
const children: ChildProcess[] = [];

interface DeviceLog {
  boots: Array<{ version: string; trial: boolean; rolledBack?: string }>;
  downloads: Array<{ resumedFrom: number; fetched: number; corruptBlocks: number }>;
  events: string[];
  errors: string[];
}
const logs = new Map<string, DeviceLog>(ids.map((id) => [id, { boots: [], downloads: [], events: [], errors: [] }]));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd: tmp.path });
  return { code, out, err };
}

type Status = { status: string; wave: number; waveName: string; reason?: string; waves: Array<{ name: string; size: number; dispatched: number; confirmed: number; failed: number }> };
async function status(): Promise<Status | undefined> {
  const s = await cli('ota', 'rollout', 'status', '--state', join(tmp.path, 'rollout'), '--json');
  return s.code === 0 ? (JSON.parse(s.out) as Status) : undefined;
}

async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One device's agent in a worker thread; started again after each reboot until stopped. */
function startWorkerAgent(id: string, hwRevision: string): void {
  const creds = { cert: readFileSync(join(tmp.path, `${id}.pem`), 'utf8'), key: readFileSync(join(tmp.path, `${id}.key`), 'utf8'), ca: readFileSync(join(tmp.path, 'ca.pem'), 'utf8') };
  const data: AgentWorkerData = { id, url: f.fleet.url, ...creds, dir: join(tmp.path, id), capacity: CAPACITY, hwRevision, badRevision: 'rev-b', badGate: join(tmp.path, 'bad-gate') };
  const log = logs.get(id)!;
  const once = (): void => {
    const w = new Worker(bundle, { workerData: data });
    workers.set(id, w);
    let rebooting = false;
    w.on('message', (m: { type: string; [k: string]: unknown }) => {
      if (m.type === 'boot') log.boots.push(m as never);
      else if (m.type === 'downloaded') log.downloads.push(m as never);
      else if (m.type === 'event') log.events.push(String(m['event']));
      else if (m.type === 'reboot') rebooting = true;
      else if (m.type === 'error') log.errors.push(String(m['message']));
    });
    w.on('error', (e) => log.errors.push(e.message));
    w.on('exit', () => { if (rebooting && workers.get(id) === w) once(); });
  };
  once();
}

function controller(extra: string[]): { child: ChildProcess; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outpost/source', MAIN, 'ota', 'rollout', 'start', '--state', join(tmp.path, 'rollout'), '--interval', '250', ...extra, ...f.conn(CONTROLLER)], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return { child, exit: new Promise((r) => child.once('exit', (code) => r(code))) };
}

beforeAll(async () => {
  bundle = join(tmp.path, 'agent-worker.mjs');
  await build({
    entryPoints: [join(import.meta.dirname, 'fixtures', 'ota-agent-worker.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bundle, conditions: ['@outpost/source'],
    logLevel: 'error', banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  f = await startOtaFleet(tmp.path, { services: { [CONTROLLER]: [`$outpost/jobs/ops/${CONTROLLER}/#`] } });
  await f.connect(CONTROLLER).then((c) => c.close()); // writes its certificate and key
  writeFileSync(join(tmp.path, 'fw-2.0.0.bin'), image);
  await f.streams.setStream('fw-200', { version: 1, files: [{ fileId: 0, path: join(tmp.path, 'fw-2.0.0.bin'), blockDigests: { fileId: 1, blockSize: 4096 } }] });
  writeFileSync(join(tmp.path, 'fw-2.0.0.manifest'), f.manifest('2.0.0', 2, image));
  for (const id of ids) await f.device(id);
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all([...workers.values()].map((w) => w.terminate()));
  await f?.stop();
  tmp.cleanup();
});

describe('a rollout to 50 agents through the broker', () => {
  it('canary → 1% → 10%, rev-b rolls back and the controller halts at 10 %, through a broker restart, a controller kill -9, agents killed mid-download, an offline device and a corrupted block', async () => {
    // The rollout id seeds the waves: take the first id that gives the 1 % wave a device and the
    // 10 % wave room for two rev-b devices, two to kill and others.
    let plan: RolloutPlan | undefined;
    let rolloutId = '';
    for (let i = 0; plan === undefined; i++) {
      const p = planRollout({ devices: ids, seed: `fw-2-0-0-r${i}`, canary: CANARY });
      if (p.waves[1]!.devices.length >= 1 && p.waves[2]!.devices.length >= 6) [plan, rolloutId] = [p, `fw-2-0-0-r${i}`];
    }
    const tenPct = plan.waves[2]!.devices;
    const revB = new Set([tenPct[0]!, tenPct[1]!, ...plan.waves[3]!.devices.filter((_, i) => i % 4 === 0)]);
    const killed = [tenPct[2]!, tenPct[3]!];
    writeFileSync(join(tmp.path, 'fleet.txt'), ids.join('\n'));

    // In transit: one block to the canary device flipped once; the killed devices' blocks from 80 KiB on held back until they were killed
    // (their agents journal the offset every 64 KiB).
    let flipped = 0;
    const released = new Set<string>();
    f.tamper((topic, b, payload) => {
      const thing = topic.split('/')[2]!;
      if (thing === CORRUPTED && b.f === 0 && b.i === 3 && flipped === 0) {
        flipped++;
        const p = new Uint8Array(b.p);
        p[17]! ^= 0x01;
        return encodeDataBlock({ ...b, p }, 'cbor');
      }
      if (killed.includes(thing) && b.f === 0 && b.i >= 20 && !released.has(thing)) return undefined;
      return payload;
    });

    for (const id of ids) if (id !== OFFLINE && !killed.includes(id)) startWorkerAgent(id, revB.has(id) ? 'rev-b' : 'rev-a');
    const supervised = killed.map((id) => {
      let latest: ReturnType<typeof agentProcess> | undefined;
      const done = supervise(f, id, ['--hw-rev', 'rev-a', '--watch'], async (n, p) => {
        latest = p;
        if (n !== 0) return;
        await killMidDownload(join(tmp.path, id), p, 120_000);
        released.add(id);
      });
      return { id, done, stop: () => latest?.child.kill('SIGTERM') };
    });

    let ctl = controller(['--rollout-id', rolloutId, '--devices', join(tmp.path, 'fleet.txt'), '--canary', CANARY.join(','), '--success-threshold', '0.9',
      '--abort-failure-rate', '0.2', '--abort-min-finished', '2', '--manifest', join(tmp.path, 'fw-2.0.0.manifest'), '--image', 'stream:fw-200']);

    // Canary: two confirm; the third is offline, so the wave waits. The broker restarts meanwhile.
    await until('two canary devices confirmed', async () => ((await status())?.waves[0]!.confirmed ?? 0) >= 2);
    await f.fleet.broker.stop();
    await new Promise((r) => setTimeout(r, 1000));
    await f.fleet.broker.start();
    expect((await status())!.wave).toBe(0); // still the canary: it waits for the offline device
    startWorkerAgent(OFFLINE, 'rev-a');

    // 10 %: the controller is killed mid-wave and started again.
    await until('the 10 % wave dispatched', async () => { const s = await status(); return s !== undefined && s.wave === 2 && s.waves[2]!.dispatched > 0; });
    ctl.child.kill('SIGKILL');
    await ctl.exit;
    ctl = controller([]);

    // The killed devices resume and confirm; then rev-b's health checks run and fail.
    await until('the killed devices SUCCEEDED', async () => {
      for (const id of killed) {
        let st: string | undefined;
        try {
          st = f.service.describeJobExecution(rolloutId, id).status;
        } catch {
          return false; // not targeted yet
        }
        if (st !== 'SUCCEEDED') return false;
      }
      return true;
    });
    writeFileSync(join(tmp.path, 'bad-gate'), '');
    expect(await ctl.exit).toBe(3); // aborted

    const s = (await status())!;
    expect(s).toMatchObject({ status: 'aborted', waveName: '10%' });
    expect(s.waves[0]).toMatchObject({ size: 3, confirmed: 3, failed: 0 });
    expect(s.waves[1]).toMatchObject({ confirmed: plan.waves[1]!.devices.length, failed: 0 });
    expect(s.waves[2]!.failed).toBeGreaterThanOrEqual(1);
    expect(s.waves[3]!.dispatched).toBe(0);
    const job = f.service.describeJob(rolloutId);
    expect(job.status).toBe('CANCELED');
    // targeted: the canary, 1 % and 10 % waves, each device once; the 100 % wave never
    expect([...job.targets].sort()).toEqual([...CANARY, ...plan.waves[1]!.devices, ...tenPct].sort());
    for (const id of plan.waves[3]!.devices) expect(logs.get(id)!.events).toEqual([]);
    // rev-b devices of the 10 % wave roll back on their own (FAILED, then a reboot into 1.0.0)
    for (const id of tenPct.filter((d) => revB.has(d))) {
      await until(`${id} rolled back`, () => logs.get(id)!.boots.at(-1)?.version === '1.0.0' && logs.get(id)!.boots.length >= 3);
      expect(logs.get(id)!.boots.map((b) => [b.version, b.trial])).toEqual([['1.0.0', false], ['2.0.0', true], ['1.0.0', false]]);
      const e = f.service.describeJobExecution(rolloutId, id);
      expect(e.status).toBe('FAILED');
      expect(e.statusDetails).toMatchObject({ version: '2.0.0', reason: 'HEALTH_CHECK_FAILED' });
      expect(e.statusDetails['message']).toContain('sensor bus did not come up on rev-b');
    }
    // healthy devices that were targeted run 2.0.0
    for (const id of [...CANARY, ...plan.waves[1]!.devices, ...tenPct.filter((d) => !revB.has(d) && !killed.includes(d))]) {
      expect((f.service.describeJobExecution(rolloutId, id)).status, id).toBe('SUCCEEDED');
      expect(logs.get(id)!.boots.at(-1), id).toMatchObject({ version: '2.0.0' });
    }
    // the corrupted block was refused and fetched again
    expect(flipped).toBe(1);
    expect(logs.get(CORRUPTED)!.downloads[0]).toMatchObject({ corruptBlocks: 1, size: image.length });
    // the offline device picked its job up when it came back
    expect((f.service.describeJobExecution(rolloutId, OFFLINE)).status).toBe('SUCCEEDED');

    for (const w of workers.values()) w.postMessage('stop');
    for (const s2 of supervised) s2.stop();
    const killedRuns = await Promise.all(supervised.map((x) => x.done));
    for (const r of killedRuns) {
      expect(r.codes[0]).toBeNull(); // kill -9
      const dl = r.runs.flat().filter((l) => l.type === 'downloaded');
      expect(dl).toHaveLength(1);
      expect(dl[0]!['resumedFrom']).toBeGreaterThan(0); // resumed from its journalled offset
      expect(dl[0]!['fetched']).toBe(image.length - (dl[0]!['resumedFrom'] as number));
    }
    for (const [id, l] of logs) expect(l.errors, id).toEqual([]);
  }, 300_000);
});
