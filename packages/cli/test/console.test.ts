// `outpost console` end to end: run() with a capturing Io against a real Mosquitto with mTLS
// (the device-sdk fleet fixture, with a console identity): the URL and token printed, the login
// works with that token, usage errors are one line and exit 2.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempDir } from '@outpost/test-peers';
import { run } from '../src/run.js';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';

const tmp = tempDir('outpost-cli-console-');
let fleet: Fleet;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd: tmp.path });
  return { code, out, err };
}

const conn = (): string[] => ['--broker', fleet.url, '--cert', 'console.pem', '--key', 'console.key', '--ca', 'ca.pem'];

beforeAll(async () => {
  fleet = await startFleet({ services: { 'console-cli': ['devices/+/telemetry', 'devices/+/status', 'alerts/#', '$aws/things/+/shadow/#'] } });
  writeFileSync(join(tmp.path, 'ca.pem'), fleet.ca.certificatePem);
  const c = await fleet.device('console-cli');
  writeFileSync(join(tmp.path, 'console.pem'), c.cert);
  writeFileSync(join(tmp.path, 'console.key'), c.key);
});
afterAll(async () => {
  await fleet?.stop();
  tmp.cleanup();
});

describe('outpost console', () => {
  test('--help has usage, options and an example', async () => {
    const r = await cli('console', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: outpost console/);
    expect(r.out).toContain('Options:');
    expect(r.out).toContain('Example:\n  outpost console');
  });

  test('usage errors are one line and exit 2: no credentials, a non-loopback host without TLS, both stores', async () => {
    for (const args of [
      ['console', '--broker', fleet.url],
      ['console', ...conn(), '--bind', '0.0.0.0', '--port', '0'],
      ['console', ...conn(), '--duckdb', 'x.duckdb', '--pg', 'postgres://x'],
      ['console', ...conn(), '--tls-cert', 'a.pem'],
    ]) {
      const r = await cli(...args);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
  });

  test('prints the URL and a token; that token logs in, another does not', async () => {
    let out = '';
    const running = run(['console', ...conn(), '--port', '0', '--json', '--duration', '4000', '--client-id', 'console-cli'], { stdout: (t) => (out += t), stderr: () => undefined, cwd: tmp.path });
    while (!out.includes('\n')) await new Promise((r) => setTimeout(r, 50));
    const started = JSON.parse(out.split('\n')[0] as string) as { url: string; login: string; token: string };
    expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(started.token.length).toBeGreaterThanOrEqual(32);
    const post = (token: string) => fetch(started.login, { method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}` });
    expect((await post('x'.repeat(32))).status).toBe(401);
    const ok = await post(started.token);
    expect(ok.status).toBe(303);
    const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect((await fetch(new URL('/api/session', started.url), { headers: { cookie } })).status).toBe(200);
    expect(await running).toBe(0);
    expect(out).toContain('"type":"stopped"');
  });
});
