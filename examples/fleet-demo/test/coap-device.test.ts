import { expect, test } from 'vitest';
import { runDemo } from '../src/index.js';

test('the coapDevice chapter reads, observes and PUTs block-wise over DTLS-PSK', async () => {
  let out = '';
  let err = '';
  const code = await runDemo(['--chapter', 'coapDevice', '--json'], { stdout: (t) => { out += t; }, stderr: (t) => { err += t; } });
  expect(err).toBe('');
  expect(code).toBe(0);
  const s = (JSON.parse(out) as Record<string, any>)['coapDevice'];
  // libcoap is installed here (it is a test peer); without it the chapter reports skipped: true
  expect(s.skipped).toBe(false);
  expect(s.secure).toBe(true);
  expect(s.time).toMatch(/\d\d:\d\d:\d\d/);
  expect(s.notifications).toBe(3);
  expect(s.observeIncreasing).toBe(true);
  expect(s.putBytes).toBeGreaterThan(64);
  expect(s.putDatagrams).toBeGreaterThanOrEqual(Math.ceil(s.putBytes / 64));
  expect(s.echoed).toBe(true);
});

test('without libcoap the chapter says so and reports skipped', async () => {
  const { makeCoapDevice } = await import('../src/chapters/coap-device.js');
  const lines: string[] = [];
  const summary: Record<string, unknown> = {};
  const ctx = { say: (l: string) => lines.push(l), summary } as unknown as Parameters<ReturnType<typeof makeCoapDevice>['run']>[0];
  await makeCoapDevice(() => undefined).run(ctx);
  expect(lines.join('\n')).toContain('not installed');
  expect(summary['coapDevice']).toMatchObject({ skipped: true });
});
