// `outpost jobs-service` and `outpost jobs create|list|describe|cancel` end to end against a real
// Mosquitto with mTLS: the service runs as its own process and is killed with SIGKILL after a
// device's update was acknowledged; a new service on the same store still has it, and the
// operator commands reach it through the broker.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import { createJobsClient } from '@outpost/jobs';
import { tempDir } from '@outpost/test-peers';
import { run } from '../src/run.js';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';

const tmp = tempDir('outpost-cli-jobs-');
const SERVICE = 'jobs-service';
const OPS = 'ops-1';
let fleet: Fleet;
const MAIN = join(import.meta.dirname, '..', 'src', 'main.ts');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd: tmp.path });
  return { code, out, err };
}

const conn = (id: string): string[] => ['--broker', fleet.url, '--cert', join(tmp.path, `${id}.pem`), '--key', join(tmp.path, `${id}.key`), '--ca', join(tmp.path, 'ca.pem')];

beforeAll(async () => {
  fleet = await startFleet({ services: { [SERVICE]: ['$aws/things/+/jobs/#', '$outpost/jobs/ops/#'], [OPS]: [`$outpost/jobs/ops/${OPS}/#`] } });
  writeFileSync(join(tmp.path, 'ca.pem'), fleet.ca.certificatePem);
  for (const id of [SERVICE, OPS, 'dev-1']) {
    const c = await fleet.device(id);
    writeFileSync(join(tmp.path, `${id}.pem`), c.cert);
    writeFileSync(join(tmp.path, `${id}.key`), c.key);
  }
}, 60_000);
afterAll(async () => {
  await fleet?.stop();
  tmp.cleanup();
});

/** The service as its own process; resolves once it printed its "listening" line. */
function serviceProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outpost/source', MAIN, 'jobs-service', ...conn(SERVICE), '--store', join(tmp.path, 'jobs'), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('"listening"')) resolve(child); });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (code) => reject(new Error(`jobs-service exited ${String(code)}: ${err}`)));
  });
}

describe('outpost jobs', () => {
  test('every command has --help with usage, options and an example; usage errors exit 2', async () => {
    for (const path of [['jobs-service'], ['jobs', 'create'], ['jobs', 'list'], ['jobs', 'describe'], ['jobs', 'cancel']]) {
      const r = await cli(...path, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: outpost ${path.join(' ')}`));
      expect(r.out).toContain(`Example:\n  outpost ${path.join(' ')}`);
    }
    for (const c of [
      ['jobs-service'],
      ['jobs-service', ...conn(SERVICE), '--store', 'x', '--memory'],
      ['jobs', 'create', 'j1', '--targets', 'a', ...conn(OPS)],
      ['jobs', 'create', 'j1', '--document', '[1]', '--targets', 'a', ...conn(OPS)],
      ['jobs', 'create', 'j1', '--document', '{}', '--targets', 'a', '--timeout-minutes', 'soon', ...conn(OPS)],
      ['jobs', 'list', '--status', 'DONE', ...conn(OPS)],
      ['jobs', 'describe', ...conn(OPS)],
      ['jobs', 'cancel', 'a', 'b', ...conn(OPS)],
    ]) {
      const r = await cli(...c);
      expect(r.code, c.join(' ')).toBe(2);
      expect(r.err.trim().split('\n'), c.join(' ')).toHaveLength(1);
    }
  });

  test('create, run on a device, kill -9 the service after an acknowledged update, restart, describe, cancel', async () => {
    const child = await serviceProcess();
    let device: DeviceClient | undefined;
    try {
      const created = await cli('jobs', 'create', 'fw-1', '--document', '{"url":"https://example.com/fw-1.bin"}', '--targets', 'dev-1,dev-2', '--timeout-minutes', '60', ...conn(OPS), '--json');
      expect(created.code, created.err).toBe(0);
      expect(JSON.parse(created.out)).toMatchObject({ jobId: 'fw-1', executions: { QUEUED: 2 }, inProgressTimeoutInMinutes: 60 });
      const d = await fleet.device('dev-1');
      device = await connectDevice({ url: fleet.url, cert: d.cert, key: d.key, ca: fleet.ca.certificatePem, servername: 'localhost' });
      const jobs = await createJobsClient({ mqtt: device, thingName: 'dev-1', requestTimeoutMs: 2_000, maxRetries: 10 });
      const e = await jobs.startNext();
      expect(e?.jobDocument).toEqual({ url: 'https://example.com/fw-1.bin' });
      await jobs.update('fw-1', 'IN_PROGRESS', { expectedVersion: 2, statusDetails: { step: 'install' } }); // acknowledged
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      await jobs.close();

      const service = cli('jobs-service', ...conn(SERVICE), '--store', join(tmp.path, 'jobs'), '--duration', '15000', '--json');
      const deadline = Date.now() + 20_000;
      let described: Awaited<ReturnType<typeof cli>> | undefined;
      while (Date.now() < deadline) {
        described = await cli('jobs', 'describe', 'fw-1', '--thing', 'dev-1', ...conn(OPS), '--json');
        if (described.code === 0) break;
      }
      expect(described?.code, described?.err).toBe(0);
      expect(JSON.parse(described!.out)).toMatchObject({ status: 'IN_PROGRESS', versionNumber: 3, statusDetails: { step: 'install' } });
      const listed = await cli('jobs', 'list', '--status', 'IN_PROGRESS', ...conn(OPS));
      expect(listed.out).toMatch(/^fw-1 {2}IN_PROGRESS {2}2 target\(s\)/);
      const canceled = await cli('jobs', 'cancel', 'fw-1', '--force', ...conn(OPS), '--json');
      expect(JSON.parse(canceled.out)).toMatchObject({ status: 'CANCELED', executions: { CANCELED: 2 } });
      const missing = await cli('jobs', 'describe', 'nope', ...conn(OPS), '--json');
      expect(missing.code).toBe(1);
      expect(JSON.parse(missing.out)).toMatchObject({ error: { code: 'ResourceNotFound' } });
      process.kill(process.pid, 'SIGTERM'); // stops the in-process service (untilStopped listens for it)
      const stopped = await service;
      expect(stopped.code).toBe(0);
      expect(stopped.out).toContain('"type":"stopped"');
    } finally {
      child.kill('SIGKILL');
      await device?.close({ force: true });
    }
  }, 120_000);
});
