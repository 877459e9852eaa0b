// A Mosquitto that runs out of file descriptors (RLIMIT_NOFILE capped with prlimit): it accepts
// the TCP connection and drops it before answering the TLS ClientHello. A device gets
// BROKER_UNAVAILABLE for that, not a generic NETWORK_ERROR, and connects once a descriptor is free.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { connectDevice, DeviceError, type DeviceClient } from '@outpost/device-sdk';
import { startFleet, type Fleet } from './fixtures/fleet.js';

let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet({ maxOpenFiles: 10 });
});
afterAll(async () => {
  await fleet?.stop();
});

async function connect(id: string): Promise<DeviceClient> {
  const c = await fleet.device(id);
  return connectDevice({ url: fleet.url, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, reconnect: false, connectTimeoutMs: 10_000 });
}

test('descriptor exhaustion on the broker is BROKER_UNAVAILABLE; a freed descriptor lets the next device in', async () => {
  const clients: DeviceClient[] = [];
  let refused: unknown;
  try {
    for (let i = 0; i < 20 && refused === undefined; i++) {
      try {
        clients.push(await connect(`fds-${i}`));
      } catch (err) {
        refused = err;
      }
    }
    expect(clients.length).toBeGreaterThan(0);
    expect(refused).toBeInstanceOf(DeviceError);
    expect(refused).toMatchObject({ code: 'BROKER_UNAVAILABLE' });
    await clients.pop()!.close();
    const again = await connect('fds-again');
    clients.push(again);
    expect(again.connected).toBe(true);
  } finally {
    await Promise.all(clients.map((c) => c.close({ force: true })));
  }
});
