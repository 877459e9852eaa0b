// Liveness against a real Mosquitto that is frozen with SIGSTOP (the process is alive, the
// socket stays open, nothing answers): ping timeouts get their own code, PING_TIMEOUT, and
// the client reconnects once the broker runs again (SIGCONT).
import { afterAll, beforeAll, expect, test } from 'vitest';
import { connectDevice, DeviceError, type DeviceClient } from '@outpost/device-sdk';
import { startFleet, type Fleet } from './fixtures/fleet.js';

let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet();
});
afterAll(async () => {
  resume();
  await fleet?.stop();
});

function freeze(): void {
  const pid = fleet.broker.pid();
  if (pid === undefined) throw new Error('broker not running');
  process.kill(pid, 'SIGSTOP');
}

function resume(): void {
  const pid = fleet?.broker.pid();
  if (pid !== undefined) process.kill(pid, 'SIGCONT');
}

async function device(id: string, keepAliveS: number): Promise<DeviceClient> {
  const c = await fleet.device(id);
  return connectDevice({ url: fleet.url, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, keepAliveS, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
}

test('ping() against a frozen broker rejects with PING_TIMEOUT, then works once it runs again', async () => {
  const d = await device('ping-frozen', 60);
  try {
    expect(await d.ping()).toBeGreaterThanOrEqual(0);
    freeze();
    const err = await d.ping({ timeoutMs: 300 }).catch((e: unknown) => e);
    resume();
    expect(err).toBeInstanceOf(DeviceError);
    expect(err).toMatchObject({ code: 'PING_TIMEOUT' });
    expect(await d.ping()).toBeGreaterThanOrEqual(0);
    expect(d.stats().lastPingRttMs).toBeGreaterThanOrEqual(0);
  } finally {
    resume();
    await d.close({ force: true });
  }
});

test('keep-alive: no PINGRESP within 1.5 × Keep Alive is PING_TIMEOUT; the client reconnects after SIGCONT', async () => {
  const d = await device('keepalive-frozen', 1);
  const errors: DeviceError[] = [];
  d.on('error', (e) => errors.push(e));
  try {
    const offline = new Promise<void>((resolve) => d.once('offline', () => resolve()));
    freeze();
    await offline;
    expect(errors.map((e) => e.code)).toContain('PING_TIMEOUT');
    expect(errors.map((e) => e.code)).not.toContain('CONNECT_TIMEOUT');
    const back = new Promise<void>((resolve) => d.on('connect', ({ reconnect }) => reconnect && resolve()));
    resume();
    await back;
    await d.publish('devices/keepalive-frozen/back', 'ok', { qos: 1 });
    expect(await d.ping()).toBeGreaterThanOrEqual(0);
  } finally {
    resume();
    await d.close({ force: true });
  }
});
