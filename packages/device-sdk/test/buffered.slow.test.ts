// Store-and-forward against a real Mosquitto (with persistence): a device process publishes
// 10,000 numbered QoS 1 messages through an edge-buffer while the broker is stopped and
// restarted twice and the device process is killed with SIGKILL once. A subscriber on a
// persistent session must receive every message, in order; duplicates are counted (QoS 1
// redeliveries after the kill are expected, gaps and reorders are not).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { tempDir } from '@outpost/test-peers';
import { connectDevice } from '@outpost/device-sdk';
import { startFleet, type Fleet } from './fixtures/fleet.js';

const N = 10_000;
const script = fileURLToPath(new URL('./fixtures/buffered-device.ts', import.meta.url));

let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet({ persistence: true });
});
afterAll(async () => {
  await fleet?.stop();
});

interface Child { proc: ChildProcess; acked: () => number; done: Promise<number | null> }

function startDevice(env: object): Child {
  const proc = spawn(process.execPath, ['--conditions=@outpost/source', '--import', 'tsx', script], {
    env: { ...process.env, OUTPOST_DEVICE: JSON.stringify(env) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let last = -1;
  let tail = '';
  let doneSeen = false;
  proc.stdout?.on('data', (d: Buffer) => {
    tail += d.toString();
    const lines = tail.split('\n');
    tail = lines.pop() ?? '';
    for (const l of lines) {
      if (l.startsWith('A ')) last = Number(l.slice(2));
      else if (l === 'DONE') doneSeen = true;
    }
  });
  const done = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(doneSeen ? code : -1)));
  return { proc, acked: () => last, done };
}

async function until(cond: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('10,000 messages across two broker restarts and a kill -9 of the device: none lost, in order', async () => {
  const dir = tempDir('outpost-buffered-');
  const creds = await fleet.device('buf-1');
  const app = await fleet.device('app-observer');
  const received: number[] = [];
  const subscriber = await connectDevice({
    url: fleet.url, cert: app.cert, key: app.key, ca: fleet.ca.certificatePem,
    cleanSession: false, sessionExpiryIntervalS: 3_600, reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
  });
  subscriber.on('message', (m) => received.push(Number(new TextDecoder().decode(m.payload))));
  await subscriber.subscribe('devices/buf-1/seq', { qos: 1 });
  const env = { url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, dir: dir.path, deviceId: 'buf-1', to: N };
  try {
    let child = startDevice({ ...env, from: 0 });
    await until(() => child.acked() >= 2_000, 'the first 2,000');
    await fleet.broker.stop(); // outage 1: the device keeps buffering
    await until(() => child.acked() >= 3_000, 'buffering while the broker is down');
    await fleet.broker.start();

    await until(() => child.acked() >= 5_000, '5,000');
    child.proc.kill('SIGKILL'); // the device dies mid-run
    await child.done;
    const resumeAt = child.acked() + 1; // the app resumes after the last message it was told is durable
    child = startDevice({ ...env, from: resumeAt });

    await until(() => child.acked() >= 7_000, '7,000');
    await fleet.broker.stop(); // outage 2
    await until(() => child.acked() >= 8_000, 'buffering during the second outage');
    await fleet.broker.start();
    expect(await child.done).toBe(0);

    await until(() => new Set(received).size >= N, `all ${N} messages at the subscriber (have ${new Set(received).size})`);
    // Every number arrives; first arrivals are in order; anything else is a redelivery.
    const firsts: number[] = [];
    const seen = new Set<number>();
    for (const n of received) if (!seen.has(n)) { seen.add(n); firsts.push(n); }
    expect(firsts).toEqual(Array.from({ length: N }, (_, i) => i));
    const duplicates = received.length - N;
    console.log(`store-and-forward: ${N} delivered in order, ${duplicates} QoS 1 redeliveries, resumed at ${resumeAt} after kill -9`);
    expect(duplicates).toBeGreaterThanOrEqual(0);
  } finally {
    await subscriber.close({ force: true });
    dir.cleanup();
  }
}, 300_000);
