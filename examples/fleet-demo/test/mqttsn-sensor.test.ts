import { expect, test } from 'vitest';
import { runDemo } from '../src/index.js';

test('the MQTT-SN sensor chapter sleeps, wakes and publishes through the gateway', async () => {
  let out = '';
  let err = '';
  const code = await runDemo(['--chapter', 'mqttsnSensor', '--json'], { stdout: (t) => { out += t; }, stderr: (t) => { err += t; } });
  expect(err).toBe('');
  expect(code).toBe(0);
  const s = (JSON.parse(out) as Record<string, any>)['mqttsnSensor'];
  expect(s.sleeps).toBe(3);
  expect(s.received).toBe(s.published);
  expect(s.datagramBytes).toBeLessThan(40);
  expect(s.gateway.malformed).toBe(0);
  expect(s.gateway.publishesIn).toBe(3);
});
