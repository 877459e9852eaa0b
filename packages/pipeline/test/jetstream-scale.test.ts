// Scale-out on NATS JetStream, scaled down for the default suite (the size is in
// jetstream-scale.slow.test.ts): Mosquitto (mTLS) → 1 bridge → a 3-node cluster with an R3 stream
// → 3 pipeline workers → PostgreSQL + each worker's lake, every part in its own process. Mid-stream
// one NATS node is killed with SIGKILL and restarted, one worker is killed, and the bridge is
// killed and started again: every point is in the store exactly once, nothing is dead-lettered,
// the lake has every point at least once, and the stream holds each message once (the bridge's
// re-publishes were de-duplicated by Nats-Msg-Id).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishFleet, sleep, startEnv, until, type Env, type Proc } from './fixtures/jetstream-scenario.js';

let env: Env;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.stop();
});

export async function crashRun(env: Env, o: { devices: number; perDevice: number; rate: number; settleMs: number }): Promise<void> {
  const total = o.devices * o.perDevice;
  let bridge = await env.spawn('bridge-1', 'bridge');
  const workers: Proc[] = [];
  for (const w of ['w1', 'w2', 'w3']) workers.push(await env.spawn(w, 'worker')); // one at a time: the first creates the table
  const events: Promise<void>[] = [];
  const at = (fraction: number, fn: () => Promise<void>): ((n: number) => void) => {
    let done = false;
    return (n) => {
      if (!done && n >= total * fraction) {
        done = true;
        events.push(fn());
      }
    };
  };
  const steps = [
    at(0.2, () => env.nats.kill(0)), // a NATS node dies mid-stream (the clients were connected to it first)
    at(0.4, () => env.kill9(workers[0] as Proc)), // a worker dies with messages unacknowledged
    at(0.55, () => env.nats.restart(0)),
    at(0.7, async () => {
      await env.kill9(bridge); // the bridge dies between publishes and PUBACKs …
      bridge = await env.spawn('bridge-1', 'bridge'); // … and comes back on the same MQTT session
    }),
  ];
  const expected = await publishFleet(env, { devices: o.devices, perDevice: o.perDevice, rate: o.rate, prefix: 'js', onProgress: (n) => steps.forEach((s) => s(n)) });
  await Promise.all(events);
  const live = [bridge, ...workers.slice(1)];
  await until(async () => (await env.storeCount()).rows >= total, `${total} rows in the store`, o.settleMs, live);
  await until(async () => (await env.consumerPending()).ackPending === 0, 'every message acknowledged', o.settleMs, live);
  await sleep(500); // anything still to come (a late redelivery) would show now
  const store = await env.storeCount();
  expect(store).toEqual({ rows: total, keys: total }); // exactly once
  expect(env.deadLetters()).toBe(0); // nothing valid dead-lettered
  expect(await env.streamMessages()).toBe(total); // the bridge's re-publishes were duplicates
  for (const w of workers.slice(1)) await (w.proc.stdin?.write('close\n'), w.exited); // flush the lakes
  const lake = await env.lakeCheck(expected);
  expect(lake.missing).toBe(0); // at least once
  console.log(`jetstream crash run: ${total} messages, store ${store.rows} rows, lake ${lake.rows} rows (${lake.rows - total} repeated), bridge duplicates ${String(bridge.last.duplicates)}`);
}

describe('scale-out on JetStream (3 nodes, R3, bridge + 3 workers in processes)', () => {
  it('loses and duplicates nothing when a NATS node, a worker and the bridge are killed mid-stream', async () => {
    await crashRun(env, { devices: 10, perDevice: 300, rate: 1_500, settleMs: 30_000 });
  }, 90_000);
});
