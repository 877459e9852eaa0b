import { expect, test } from 'vitest';
import { runDemo } from '../src/index.js';

function capture(): { io: { stdout(t: string): void; stderr(t: string): void }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { stdout: (t) => { out += t; }, stderr: (t) => { err += t; } }, out: () => out, err: () => err };
}

test('the demo runs on its embedded broker and its summary checks out', async () => {
  const c = capture();
  const code = await runDemo(['--json'], c.io);
  expect(c.err()).toBe('');
  expect(code).toBe(0);
  const summary = JSON.parse(c.out()) as Record<string, any>;
  const s = summary['secureConnect'];
  expect(s.devices).toBe(5);
  expect(s.sent).toBe(100);
  expect(s.received).toBe(100);
  expect(s.inOrder).toBe(true);
  expect(s.borrowedCertificate.sdk).toBe('CERT_IDENTITY_MISMATCH');
  expect(s.borrowedCertificate.broker).toMatch(/^refused/);
  expect(s.crossDeviceSubscribe).toBe('NOT_AUTHORIZED');
  expect(summary['certificatesIssued']).toBeGreaterThanOrEqual(6);
  const o = summary['offlineBuffer'];
  expect(o.bufferedAtReturn).toBeGreaterThan(0);
  expect(o.lost).toBe(0);
  expect(o.inOrder).toBe(true);
  expect(o.delivered).toBe(o.sent);
  const l = summary['lorawanField'];
  expect(l.sent).toBe(l.allowedPerHour); // the duty cycle, not the sensor, set the pace
  expect(l.sent).toBeLessThan(l.wanted);
  expect(l.airtimeMs * l.sent).toBeLessThanOrEqual(36_000); // 1% of an hour
  expect(l.firstWait.until).toBeGreaterThan(l.firstWait.at);
  expect(l.micValid).toBe(true);
  expect(['good', 'marginal', 'none']).toContain(l.coverage.verdict);
});

test('the readable run prints each chapter and a summary line', async () => {
  const c = capture();
  expect(await runDemo(['--chapter', 'secureConnect'], c.io)).toBe(0);
  expect(c.out()).toContain('1. Connecting devices securely');
  expect(c.out()).toMatch(/Summary: \d+ device certificates issued/);
});

test('bad options: one-line error, exit code 2', async () => {
  const c = capture();
  expect(await runDemo(['--nope'], c.io)).toBe(2);
  expect(c.err().trim().split('\n')).toHaveLength(1);
  const d = capture();
  expect(await runDemo(['--broker', 'mqtts://127.0.0.1:1'], d.io)).toBe(2);
  expect(d.err()).toContain('--ca');
});
