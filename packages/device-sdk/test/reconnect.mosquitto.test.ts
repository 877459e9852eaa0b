// Reconnect behaviour against a real Mosquitto that is stopped and started under the clients.
// The backoff timer can run on an injected clock (the CoAP fixture's ManualClock).
import { afterAll, beforeAll, expect, test } from 'vitest';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import { ManualClock } from './fixtures/coap-clock.js';
import { startFleet, type Fleet } from './fixtures/fleet.js';

let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet();
});
afterAll(async () => {
  await fleet?.stop();
});

function once<T>(client: DeviceClient, event: 'connect' | 'offline' | 'close'): Promise<T> {
  return new Promise((resolve) => client.once(event, ((arg: T) => resolve(arg)) as never));
}

test('broker restart with 20 clients: all reconnect, at spread-out times', async () => {
  const initialDelayMs = 2_000;
  const clients = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const c = await fleet.device(`fleet-${i}`);
      return connectDevice({ url: fleet.url, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, reconnect: { initialDelayMs, maxDelayMs: 8_000 } });
    }),
  );
  try {
    const firstDelays: number[] = [];
    const reconnected = clients.map((c) => {
      c.once('reconnect', ({ delayMs }) => firstDelays.push(delayMs));
      return new Promise<void>((resolve) => c.on('connect', ({ reconnect }) => reconnect && resolve()));
    });
    const offline = Promise.all(clients.map((c) => once(c, 'offline')));
    await fleet.broker.stop();
    await offline;
    expect(clients.every((c) => !c.connected)).toBe(true);
    await fleet.broker.start();
    await Promise.all(reconnected);
    expect(clients.every((c) => c.connected)).toBe(true);
    // Full jitter: first attempts are spread over [0, initialDelayMs), not fired together.
    expect(firstDelays).toHaveLength(20);
    expect(firstDelays.every((d) => d >= 0 && d < initialDelayMs)).toBe(true);
    expect(new Set(firstDelays).size).toBeGreaterThanOrEqual(15);
    expect(Math.max(...firstDelays) - Math.min(...firstDelays)).toBeGreaterThan(initialDelayMs / 2);
    // And they work again.
    await Promise.all(clients.map((c, i) => c.publish(`devices/fleet-${i}/back`, 'ok', { qos: 1 })));
    expect(clients.every((c) => c.stats().reconnects >= 1)).toBe(true);
  } finally {
    await Promise.all(clients.map((c) => c.close({ force: true })));
  }
});

test('a publish made while offline waits and completes after the reconnect', async () => {
  const creds = await fleet.device('offline-1');
  const device = await connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, reconnect: { initialDelayMs: 200, maxDelayMs: 400 } });
  const app = await fleet.device('app-observer');
  try {
    const off = once(device, 'offline');
    await fleet.broker.stop();
    await off;
    const p = device.publish('devices/offline-1/late', 'queued', { qos: 1 });
    expect(device.stats().pending).toBe(1);
    await fleet.broker.start();
    const observerP = connectDevice({ url: fleet.url, cert: app.cert, key: app.key, ca: fleet.ca.certificatePem });
    await p;
    const observer = await observerP;
    await observer.close();
    expect(device.stats().messagesOut).toBe(1);
  } finally {
    await device.close({ force: true });
  }
});

test('reconnect: false closes the client when the link drops; maxAttempts bounds retries', async () => {
  const a = await fleet.device('noreconnect-1');
  const b = await fleet.device('bounded-1');
  const noRetry = await connectDevice({ url: fleet.url, cert: a.cert, key: a.key, ca: fleet.ca.certificatePem, reconnect: false });
  const bounded = await connectDevice({ url: fleet.url, cert: b.cert, key: b.key, ca: fleet.ca.certificatePem, reconnect: { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 3 } });
  const errors: string[] = [];
  bounded.on('error', (e) => errors.push(e.code));
  const closedA = once(noRetry, 'close');
  const closedB = once(bounded, 'close');
  await fleet.broker.stop();
  try {
    await closedA;
    await closedB;
    expect(errors).toContain('RECONNECT_EXHAUSTED');
    expect(bounded.stats().reconnects).toBe(3);
    await expect(noRetry.publish('devices/noreconnect-1/x', 'x')).rejects.toMatchObject({ code: 'CLOSED' });
  } finally {
    await fleet.broker.start();
  }
});

test('the backoff runs on the injected clock: no attempt until it advances, then one at the drawn delay', async () => {
  const clock = new ManualClock();
  const creds = await fleet.device('clocked-1');
  const device = await connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, clock, random: () => 0.5, reconnect: { initialDelayMs: 1_000, maxDelayMs: 8_000 } });
  const attempts: Array<{ attempt: number; delayMs: number }> = [];
  device.on('reconnect', (info) => attempts.push(info));
  try {
    const off = once(device, 'offline');
    await fleet.broker.stop();
    await off;
    expect(clock.pending).toBe(1); // the backoff timer, on our clock
    await fleet.broker.start();
    const back = new Promise<void>((resolve) => device.on('connect', ({ reconnect }) => reconnect && resolve()));
    clock.advance(499);
    expect(attempts).toEqual([]);
    clock.advance(1); // full jitter: U[0, 1000) with random 0.5 → 500 ms
    expect(attempts).toEqual([{ attempt: 1, delayMs: 500 }]);
    await back;
    expect(device.connected).toBe(true);
  } finally {
    await device.close({ force: true });
  }
});
