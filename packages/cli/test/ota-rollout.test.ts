// `outpost ota rollout start|status|pause|resume|abort` end to end: a real Mosquitto with mTLS and
// brokerConfig's ACL, the reference jobs service, scripted device responders (jobs clients that
// answer SUCCEEDED, or FAILED for the failing hardware revision), the release signed with
// `outpost ota keygen` / `outpost ota sign`.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import { createJobsOperatorClient, startJobsService, type JobsOperatorClient, type JobsService } from '@outpost/jobs';
import { tempDir } from '@outpost/test-peers';
import { run } from '../src/run.js';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';
import { startResponder, type Responder } from '../../ota/test/fixtures/responder.js';

const tmp = tempDir('outpost-cli-rollout-');
const OPS = 'ops-ro';
let fleet: Fleet;
let service: JobsService;
let ops: JobsOperatorClient;
const closers: Array<() => Promise<unknown>> = [];
const MAIN = join(import.meta.dirname, '..', 'src', 'main.ts');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd: tmp.path });
  return { code, out, err };
}
const conn = ['--broker', '', '--cert', join(tmp.path, `${OPS}.pem`), '--key', join(tmp.path, `${OPS}.key`), '--ca', join(tmp.path, 'ca.pem')];

async function mqttFor(id: string): Promise<DeviceClient> {
  const c = await fleet.device(id);
  const mq = await connectDevice({ url: fleet.url, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, servername: 'localhost', reconnect: { initialDelayMs: 100, maxDelayMs: 400 } });
  closers.push(() => mq.close({ force: true }));
  return mq;
}

async function devices(ids: readonly string[], failing: ReadonlySet<string>): Promise<Map<string, Responder>> {
  const out = new Map<string, Responder>();
  for (const id of ids) {
    const c = await fleet.device(id);
    const r = await startResponder(id, { url: fleet.url, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem }, { fail: failing.has(id) });
    closers.push(() => r.close());
    out.set(id, r);
  }
  return out;
}

beforeAll(async () => {
  fleet = await startFleet({ services: { 'jobs-service': ['$aws/things/+/jobs/#', '$outpost/jobs/ops/#'], [OPS]: [`$outpost/jobs/ops/${OPS}/#`], 'ops-check': ['$outpost/jobs/ops/ops-check/#'] } });
  conn[1] = fleet.url;
  writeFileSync(join(tmp.path, 'ca.pem'), fleet.ca.certificatePem);
  const c = await fleet.device(OPS);
  writeFileSync(join(tmp.path, `${OPS}.pem`), c.cert);
  writeFileSync(join(tmp.path, `${OPS}.key`), c.key);
  service = await startJobsService({ mqtt: await mqttFor('jobs-service'), sweepIntervalMs: 0 });
  ops = await createJobsOperatorClient({ mqtt: await mqttFor('ops-check'), operatorId: 'ops-check', requestTimeoutMs: 2_000 });
  writeFileSync(join(tmp.path, 'fw.bin'), Buffer.alloc(4096, 7));
  expect((await cli('ota', 'keygen', '--out', 'keys/release')).code).toBe(0);
  const signed = await cli('ota', 'sign', '--key', 'keys/release.key.jwk', '--image', 'fw.bin', '--device-class', 'lamp', '--version', '2.0.0', '--seq', '2', '--out', 'fw.manifest');
  expect(signed.code, signed.err).toBe(0);
}, 60_000);

afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await ops?.close().catch(() => undefined);
  await service?.close();
  await fleet?.stop();
  tmp.cleanup();
});

describe('outpost ota rollout', () => {
  test('help for every command; usage errors exit 2 with one line', async () => {
    for (const path of [['start'], ['status'], ['pause'], ['resume'], ['abort']]) {
      const r = await cli('ota', 'rollout', ...path, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: outpost ota rollout ${path[0]!}`));
      expect(r.out).toContain(`Example:\n  outpost ota rollout ${path[0]!}`);
    }
    writeFileSync(join(tmp.path, 'two.txt'), 'a\nb\n');
    const spec = ['--rollout-id', 'u1', '--devices', 'two.txt', '--manifest', 'fw.manifest', '--image', 'stream:u1'];
    for (const c of [
      ['start', '--state', 'u', ...spec, '--waves', 'canary,lots', ...conn],
      ['start', '--state', 'u', ...spec, '--waves', '0.5,0.2,1', ...conn],
      ['start', '--state', 'u', ...spec, '--rollout-id', 'no/slash', ...conn],
      ['start', '--state', 'u', ...spec.slice(0, 6), '--image', 'ftp://x/fw', ...conn],
      ['start', '--state', 'u', ...spec, '--success-threshold', '2', ...conn],
      ['start', '--state', 'u', ...spec, '--canary', 'zz', ...conn],
      ['start', '--state', 'u', ...spec, '--interval', 'soon', ...conn],
    ]) {
      const r = await cli('ota', 'rollout', ...c);
      expect(r.code, c.join(' ')).toBe(2);
      expect(r.err.trim().split('\n'), c.join(' ')).toHaveLength(1);
    }
    expect((await cli('ota', 'rollout', 'status', '--state', 'nothing-here')).code).toBe(1);
  });

  test('start runs canary → 50% → 100%; the failing revision aborts the last wave (exit 3); status names the failed devices and why', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `lamp-${i}`);
    writeFileSync(join(tmp.path, 'fleet.txt'), `# the fleet\n${ids.join('\n')}\n`);
    // which devices land in the 100 % wave depends on the hash: find out with a dry plan
    const { planRollout } = await import('@outpost/ota');
    const plan = planRollout({ devices: ids, seed: 'fw-2-0-0', waves: ['canary', 0.5, 1], canary: ['lamp-0'] });
    const last = plan.waves[2]!.devices;
    expect(last.length).toBeGreaterThan(0);
    const bad = new Set([last[0]!]);
    const responders = await devices(ids, bad);
    const r = await cli('ota', 'rollout', 'start', '--state', 'ro1', '--rollout-id', 'fw-2-0-0', '--devices', 'fleet.txt', '--canary', 'lamp-0', '--waves', 'canary,50%,100%',
      '--manifest', 'fw.manifest', '--image', 'stream:fw-2-0-0', '--abort-min-finished', '1', '--abort-failure-rate', '0', '--interval', '100', ...conn, '--json');
    expect(r.code, r.err).toBe(3);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'started', rolloutId: 'fw-2-0-0' });
    expect(lines.at(-2)).toMatchObject({ type: 'finished', status: 'aborted', waveName: '100%' });
    expect((lines.at(-2) as { waves: unknown[] }).waves[1]).toMatchObject({ failed: 0, confirmed: plan.waves[1]!.devices.length });
    expect(lines.at(-1)).toMatchObject({ error: { code: 'ROLLOUT_ABORTED', exitCode: 3 } });
    const s = await cli('ota', 'rollout', 'status', '--state', 'ro1');
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/^rollout fw-2-0-0: aborted at wave 100%; runner not running/);
    expect(s.out).toContain(`${last[0]!}  rolled-back  HEALTH_CHECK_FAILED: scripted`);
    const sj = JSON.parse((await cli('ota', 'rollout', 'status', '--state', 'ro1', '--json')).out) as { failures: unknown[]; runner: unknown };
    expect(sj).toMatchObject({ runner: null, failures: [{ device: last[0], wave: '100%', status: 'rolled-back', details: { reason: 'HEALTH_CHECK_FAILED' } }] });
    // the job carries the OTA job document; each device ran at most one execution
    expect((await ops.describeJob('fw-2-0-0')).document).toMatchObject({ operation: 'outpost-ota', v: 1, image: 'stream:fw-2-0-0' });
    for (const x of responders.values()) expect(x.started.length).toBeLessThanOrEqual(1);
    // resuming an aborted rollout changes nothing; flags other than --state are refused
    expect((await cli('ota', 'rollout', 'start', '--state', 'ro1', '--devices', 'fleet.txt', ...conn)).code).toBe(2);
    expect((await cli('ota', 'rollout', 'resume', '--state', 'ro1')).code).toBe(1);
  }, 90_000);

  test('pause / resume / abort: offline into the journal, and through a running start (its own process)', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `pz-${i}`);
    writeFileSync(join(tmp.path, 'pz.txt'), ids.join('\n'));
    const spec = ['--rollout-id', 'pz', '--devices', 'pz.txt', '--waves', '100%', '--manifest', 'fw.manifest', '--image', 'stream:pz', '--max-per-minute', '2'];
    // one round (no device answers), then stopped: 2 targeted
    const first = await cli('ota', 'rollout', 'start', '--state', 'pz', ...spec, '--interval', '50', '--duration', '300', ...conn);
    expect(first.code, first.err).toBe(0);
    expect((await ops.describeJob('pz')).targets).toHaveLength(2);
    const paused = await cli('ota', 'rollout', 'pause', '--state', 'pz', '--json');
    expect(paused.code, paused.err).toBe(0);
    expect(JSON.parse(paused.out)).toMatchObject({ applied: 'pause', status: 'paused', runner: null });
    expect((await cli('ota', 'rollout', 'pause', '--state', 'pz')).code).toBe(1); // already paused
    // a running start (its own process) takes requests through the state directory
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outpost/source', MAIN, 'ota', 'rollout', 'start', '--state', join(tmp.path, 'pz'), '--interval', '50', ...conn, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      for (let i = 0; i < 300 && !out.includes('"started"'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('"started"');
      expect((await cli('ota', 'rollout', 'start', '--state', 'pz', ...conn)).err).toContain('a runner (pid'); // one runner per directory
      const resumed = await cli('ota', 'rollout', 'resume', '--state', 'pz', '--json');
      expect(resumed.code, resumed.err).toBe(0);
      expect(JSON.parse(resumed.out)).toMatchObject({ applied: 'resume', status: 'running', runner: child.pid });
      const aborted = await cli('ota', 'rollout', 'abort', '--state', 'pz', '--reason', 'metrics look wrong', '--json');
      expect(aborted.code, aborted.err).toBe(0);
      expect(JSON.parse(aborted.out)).toMatchObject({ status: 'aborted', reason: 'aborted by the operator: metrics look wrong' });
      expect(await exited).toBe(3);
    } finally {
      child.kill('SIGKILL');
    }
    const job = await ops.describeJob('pz');
    expect(job.status).toBe('CANCELED');
    expect(job.executions.CANCELED).toBe(job.targets.length);
  }, 90_000);

  test('abort with no start running: journalled at once; the next start cancels the job and exits 3', async () => {
    writeFileSync(join(tmp.path, 'ab.txt'), 'ab-0\nab-1\nab-2\n');
    const spec = ['--rollout-id', 'ab', '--devices', 'ab.txt', '--waves', '100%', '--manifest', 'fw.manifest', '--image', 'stream:ab', '--max-per-minute', '1'];
    expect((await cli('ota', 'rollout', 'start', '--state', 'ab', ...spec, '--interval', '50', '--duration', '300', ...conn)).code).toBe(0);
    const aborted = await cli('ota', 'rollout', 'abort', '--state', 'ab', '--reason', 'wrong image', '--json');
    expect(aborted.code, aborted.err).toBe(0);
    expect(JSON.parse(aborted.out)).toMatchObject({ status: 'aborted', runner: null });
    expect(aborted.out).toContain('aborted by the operator: wrong image');
    expect((await ops.describeJob('ab')).status).toBe('IN_PROGRESS'); // not yet: no runner
    const again = await cli('ota', 'rollout', 'start', '--state', 'ab', '--interval', '50', ...conn);
    expect(again.code, again.err).toBe(3);
    expect((await ops.describeJob('ab')).status).toBe('CANCELED');
    expect((await ops.describeJob('ab')).targets).toHaveLength(1);
  }, 60_000);
});
