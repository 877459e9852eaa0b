// `outpost shadow-service` and `outpost shadow get|update` end to end: run() with a capturing
// Io against a real Mosquitto with mTLS (the shadow package's fleet fixture: a service identity
// and an app identity that may read and write every shadow topic).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempDir } from '@outpost/test-peers';
import { run } from '../src/run.js';
import { APP_ID, SERVICE_ID, startShadowFleet, type ShadowFleet } from '../../shadow/test/fixtures/shadow-fleet.js';

const tmp = tempDir('outpost-cli-shadow-');
let fleet: ShadowFleet;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd: tmp.path });
  return { code, out, err };
}

function conn(id: string): string[] {
  return ['--broker', fleet.url, '--cert', `${id}.pem`, '--key', `${id}.key`, '--ca', 'ca.pem'];
}

beforeAll(async () => {
  fleet = await startShadowFleet();
  writeFileSync(join(tmp.path, 'ca.pem'), fleet.ca.certificatePem);
  for (const id of [SERVICE_ID, APP_ID]) {
    const c = await fleet.creds(id);
    writeFileSync(join(tmp.path, `${id}.pem`), c.cert);
    writeFileSync(join(tmp.path, `${id}.key`), c.key);
  }
});
afterAll(async () => {
  await fleet?.stop();
  tmp.cleanup();
});

describe('outpost shadow', () => {
  test('every command has --help with usage, options and an example', async () => {
    for (const path of [['shadow-service'], ['shadow', 'get'], ['shadow', 'update']]) {
      const r = await cli(...path, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: outpost ${path.join(' ')}`));
      expect(r.out).toContain('Options:');
      expect(r.out).toContain(`Example:\n  outpost ${path.join(' ')}`);
    }
    expect((await cli('--help')).out).toContain('shadow-service');
  });

  test('usage errors are one line and exit 2', async () => {
    const cases: string[][] = [
      ['shadow-service'],
      ['shadow-service', ...conn(SERVICE_ID), '--store', 'x', '--memory'],
      ['shadow-service', ...conn(SERVICE_ID), '--duration', 'soon'],
      ['shadow-service', ...conn(SERVICE_ID), '--max-in-flight', '0'],
      ['shadow-service', ...conn(SERVICE_ID), '--max-in-flight', 'many'],
      ['shadow-service', ...conn(SERVICE_ID), '--tombstone-ttl-ms', '2d'],
      ['shadow', 'update', 'dev-1', ...conn(APP_ID)],
      ['shadow', 'update', 'dev-1', '--desired', '{nope', ...conn(APP_ID)],
      ['shadow', 'update', 'dev-1', '--desired', '[1]', ...conn(APP_ID)],
      ['shadow', 'get', ...conn(APP_ID)],
      ['shadow', 'get', 'dev-1', '--broker', 'http://x', '--cert', 'a', '--key', 'b', '--ca', 'c'],
      ['shadow', 'get', 'dev-1', '--bogus'],
    ];
    for (const c of cases) {
      const r = await cli(...c);
      expect(r.code, c.join(' ')).toBe(2);
      expect(r.err.trim().split('\n'), c.join(' ')).toHaveLength(1);
    }
    const missing = await cli('shadow', 'get', 'dev-1', '--broker', fleet.url, '--cert', 'nope.pem', '--key', 'nope.key', '--ca', 'ca.pem', '--json');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out)).toMatchObject({ error: { code: 'FILE_NOT_FOUND' } });
    // A device or endless file in place of a certificate stops at the cap instead of filling memory.
    const endless = await cli('shadow', 'get', 'dev-1', '--broker', fleet.url, '--cert', '/dev/zero', '--key', 'nope.key', '--ca', 'ca.pem', '--json');
    expect(endless.code).toBe(1);
    expect(JSON.parse(endless.out)).toMatchObject({ error: { code: 'FILE_TOO_LARGE' } });
  });

  test('shadow-service serves get/update from the CLI, keeps documents in its file store, prints stats', async () => {
    const service = cli('shadow-service', ...conn(SERVICE_ID), '--store', 'shadows', '--duration', '6000', '--max-in-flight', '3', '--tombstone-ttl-ms', '60000', '--json');
    // Wait until it listens (its first line).
    const deadline = Date.now() + 20_000;
    let up = false;
    while (!up && Date.now() < deadline) {
      const r = await cli('shadow', 'get', 'dev-1', ...conn(APP_ID), '--json');
      up = r.code === 1 && r.err.includes('NOT_FOUND');
      if (!up) await new Promise((res) => setTimeout(res, 200));
    }
    expect(up).toBe(true);
    const u = await cli('shadow', 'update', 'dev-1', '--desired', '{"reportIntervalS":30}', ...conn(APP_ID), '--json');
    expect(u.code).toBe(0);
    expect(JSON.parse(u.out)).toMatchObject({ state: { desired: { reportIntervalS: 30 } }, version: 1 });
    const g = await cli('shadow', 'get', 'dev-1', ...conn(APP_ID));
    expect(g.code).toBe(0);
    expect(g.out).toContain('version 1');
    expect(g.out).toContain('delta     {"reportIntervalS":30}');
    const conflict = await cli('shadow', 'update', 'dev-1', '--desired', '{"reportIntervalS":60}', '--version', '0', ...conn(APP_ID));
    expect(conflict.code).toBe(1);
    expect(conflict.err).toMatch(/Version conflict \(409\) \[VERSION_CONFLICT\]/);
    const named = await cli('shadow', 'update', 'dev-1', '--shadow', 'config', '--reported', '{"fw":"1.0"}', ...conn(APP_ID), '--json');
    expect(JSON.parse(named.out).version).toBe(1);
    const r = await service;
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; stats?: Record<string, number> });
    expect(lines[0]).toMatchObject({ type: 'listening', clientId: SERVICE_ID, maxInFlightPerShadow: 3, tombstoneTtlMs: 60_000 });
    // accepted: update, get, named update; rejected: the 409 and the 404(s) of the wait loop.
    expect(lines.at(-1)).toMatchObject({ type: 'stopped', stats: { accepted: 3 } });
    expect(lines.at(-1)?.stats?.['rejected']).toBeGreaterThanOrEqual(2);
    expect(existsSync(join(tmp.path, 'shadows', 'dev-1.shadow'))).toBe(true);
    expect(existsSync(join(tmp.path, 'shadows', 'dev-1~config.shadow'))).toBe(true);
  }, 60_000);
});
