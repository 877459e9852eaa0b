// Scale-out on NATS JetStream, scaled down for the default suite (the size is in
// jetstream-scale.slow.test.ts): Mosquitto (mTLS) → 1 bridge → a 3-node cluster with an R3 stream
// → 3 pipeline workers → PostgreSQL + each worker's lake, every part in its own process. Mid-stream
// one NATS node is killed with SIGKILL and restarted, one worker is killed, and the bridge is
// killed and started again: every point is in the store exactly once, nothing is dead-lettered,
// the lake has every point at least once, and the stream holds each message once (the bridge's
// re-publishes were de-duplicated by Nats-Msg-Id).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crashRun, startEnv, type Env } from './fixtures/jetstream-scenario.js';

let env: Env;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.stop();
});

describe('scale-out on JetStream (3 nodes, R3, bridge + 3 workers in processes)', () => {
  it('loses and duplicates nothing when a NATS node, a worker and the bridge are killed mid-stream', async () => {
    await crashRun(env, { devices: 10, perDevice: 200, rate: 1_500, settleMs: 30_000 });
  }, 90_000);
});
