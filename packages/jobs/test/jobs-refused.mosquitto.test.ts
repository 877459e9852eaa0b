// A jobs request the broker's ACL refuses, against real Mosquitto 2 with mTLS and brokerConfig()'s
// per-device ACL (a device may publish only under $aws/things/{its id}/jobs/): a jobs client of
// device A speaking for thing B. MQTT 5: Mosquitto answers the PUBLISH with PUBACK reason code
// 0x87 (MQTT 5 §3.4.2.1) and the request fails at once with NOT_AUTHORIZED, not retried.
// MQTT 3.1.1 has no PUBACK reason: the broker acks silently, the request ends in TIMEOUT.
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice } from '@outpost/device-sdk';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';
import { createJobsClient, JobsError, type MqttLike } from '../src/index.js';

let fleet: Fleet;
const closers: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  fleet = await startFleet();
});
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await fleet?.stop();
});

/** Counts the publishes on `topicPart` (to see that a refused request is not sent again). */
function counting(c: MqttLike, topicPart: string): { client: MqttLike; count: () => number } {
  let n = 0;
  const client = new Proxy(c, {
    get(target, key, recv) {
      const v = Reflect.get(target, key, recv) as unknown;
      if (key !== 'publish' || typeof v !== 'function') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      return (topic: string, ...rest: unknown[]) => {
        if (topic.includes(topicPart)) n++;
        return (v as (...a: unknown[]) => unknown).call(target, topic, ...rest);
      };
    },
  });
  return { client, count: () => n };
}

async function failure(p: Promise<unknown>): Promise<JobsError> {
  try {
    await p;
  } catch (err) {
    return err as JobsError;
  }
  throw new Error('expected the request to fail');
}

describe('a jobs request the broker refuses', () => {
  it('MQTT 5 through a DeviceClient: NOT_AUTHORIZED (reason code 0x87) at once, one publish, no retry', async () => {
    const creds = await fleet.device('dev-a');
    const mq = await connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, servername: 'localhost', protocolVersion: 5 });
    closers.push(() => mq.close({ force: true }));
    const c = counting(mq as unknown as MqttLike, '$aws/things/dev-b/jobs/get');
    // requestTimeoutMs 5 s, 1 retry: the old behaviour was TIMEOUT after two tries.
    const jobs = await createJobsClient({ mqtt: c.client, thingName: 'dev-b', requestTimeoutMs: 5_000, maxRetries: 1 });
    closers.push(() => jobs.close());
    const err = await failure(jobs.get());
    expect(err).toBeInstanceOf(JobsError);
    expect(err.code).toBe('NOT_AUTHORIZED');
    expect(err.value).toMatchObject({ reasonCode: 0x87, topic: '$aws/things/dev-b/jobs/get' });
    expect(c.count()).toBe(1);
  }, 60_000);
  it('MQTT 5 through an MQTT.js client: NOT_AUTHORIZED too', async () => {
    const creds = await fleet.device('dev-c');
    const mq = await mqtt.connectAsync(fleet.url, { cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, servername: 'localhost', protocolVersion: 5, reconnectPeriod: 0 });
    closers.push(() => mq.endAsync(true));
    const jobs = await createJobsClient({ mqtt: mq as unknown as MqttLike, thingName: 'dev-b', requestTimeoutMs: 5_000, maxRetries: 1 });
    closers.push(() => jobs.close());
    const err = await failure(jobs.startNext());
    expect(err.code).toBe('NOT_AUTHORIZED');
    expect(err.value).toMatchObject({ reasonCode: 0x87 });
  }, 60_000);
  it('MQTT 3.1.1: the broker acks the refused PUBLISH silently; the request ends in TIMEOUT, whose message names the ACL', async () => {
    const creds = await fleet.device('dev-d');
    const mq = await connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, servername: 'localhost', protocolVersion: 4 });
    closers.push(() => mq.close({ force: true }));
    const jobs = await createJobsClient({ mqtt: mq, thingName: 'dev-b', requestTimeoutMs: 300, maxRetries: 1 });
    closers.push(() => jobs.close());
    const err = await failure(jobs.get());
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toMatch(/ACL/);
  }, 60_000);
});
