// The gateway's own broker link (src/mqtt-sn/gateway-link.ts) against a real Mosquitto with mTLS
// and the fleet ACL: QoS 0–2 both ways on MQTT 3.1.1 and 5, packets split across and packed into
// reads, MQTT 5 refusals, keep-alive and the connect timeout on an injected clock (the broker
// stopped with SIGSTOP, so it accepts TCP and answers nothing), and the broker going away with a
// publish in flight (SIGKILL).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsync } from 'mqtt';
import { MqttSnError, type BrokerConnectRequest, type BrokerLink, type Clock } from '../src/mqtt-sn/index.js';
import { openBrokerLink } from '../src/mqtt-sn/gateway-link.js';
import { startFleet, type DeviceCreds, type Fleet } from './fixtures/fleet.js';
import { ManualTimers } from './fixtures/mqttsn-manual.js';
import { waitUntil } from './fixtures/mqttsn-fleet.js';
import { systemClock } from '../src/transports/clock.js';

let fleet: Fleet;
let dev: DeviceCreds;

beforeAll(async () => {
  fleet = await startFleet();
  dev = await fleet.device('link-a');
});
afterAll(async () => {
  // The broker was SIGSTOPped and SIGKILLed here: end whatever runs with SIGKILL (stop() would
  // wait on a SIGTERM), then clean up.
  const pid = fleet.broker.pid();
  if (pid !== undefined) process.kill(pid, 'SIGCONT');
  await fleet.broker.kill();
  await fleet.stop();
});

interface Seen { topic: string; payload: Buffer; qos: number; retain: boolean }

async function open(clientId: string, o: { version?: 4 | 5; clock?: Clock; keepAliveS?: number; clean?: boolean; timeoutMs?: number } = {}): Promise<{ link: BrokerLink; seen: Seen[]; errors: Error[]; closed: () => boolean }> {
  const r: BrokerConnectRequest = { clientId, creds: { cert: dev.cert, key: dev.key }, clean: o.clean ?? true, keepAliveS: o.keepAliveS ?? 60, will: undefined };
  const link = await openBrokerLink({ url: fleet.url, ca: fleet.ca.certificatePem, protocolVersion: o.version ?? 4, ...(o.timeoutMs !== undefined ? { connectTimeoutMs: o.timeoutMs } : {}) }, r, o.clock ?? systemClock);
  const seen: Seen[] = [];
  const errors: Error[] = [];
  let closed = false;
  link.listen({
    // The payload is a view of the read buffer: copy what is kept.
    message: (topic, payload, qos, retain) => { seen.push({ topic, payload: Buffer.from(payload), qos, retain }); },
    error: (e) => { errors.push(e); },
    close: () => { closed = true; },
  });
  return { link, seen, errors, closed: () => closed };
}

function stopBroker(): void {
  process.kill(fleet.broker.pid() as number, 'SIGSTOP');
}
function contBroker(): void {
  process.kill(fleet.broker.pid() as number, 'SIGCONT');
}

describe.each([4, 5] as const)('MQTT %i', (version) => {
  it('publishes and receives at QoS 0, 1 and 2; SUBACK grants, UNSUBSCRIBE ends delivery', async () => {
    const { link, seen } = await open(`link-a-${version}`, { version });
    expect(await link.subscribe('devices/link-a/echo/#', 2)).toBe(2);
    for (const qos of [0, 1, 2] as const) await link.publish(`devices/link-a/echo/${qos}`, new TextEncoder().encode(`q${qos}`), qos, false);
    await waitUntil(() => seen.length === 3, 10_000, 'three echoes');
    expect(seen.map((s) => [s.topic, s.payload.toString(), s.qos])).toEqual([['devices/link-a/echo/0', 'q0', 0], ['devices/link-a/echo/1', 'q1', 1], ['devices/link-a/echo/2', 'q2', 2]]);
    await link.unsubscribe('devices/link-a/echo/#');
    await link.publish('devices/link-a/echo/1', new Uint8Array([1]), 1, false);
    await link.subscribe('devices/link-a/other', 0); // a round trip after the publish: its echo would be here by now
    expect(seen).toHaveLength(3);
    await link.end(false);
  });

  it('reads packets split across reads and packed into one: a 40,000-byte message, then 300 at once, in order', async () => {
    const { link, seen } = await open(`link-a-split-${version}`, { version });
    await link.subscribe('devices/link-a/burst/#', 1);
    const backend = await connectAsync(fleet.url, { clientId: `link-a-backend-${version}`, cert: dev.cert, key: dev.key, ca: fleet.ca.certificatePem, reconnectPeriod: 0, protocolVersion: version });
    const big = Buffer.alloc(40_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    await backend.publishAsync('devices/link-a/burst/big', big, { qos: 1 });
    await Promise.all(Array.from({ length: 300 }, (_, i) => backend.publishAsync(`devices/link-a/burst/${i % 3}`, `m${i}`, { qos: 1 })));
    await waitUntil(() => seen.length === 301, 10_000, '301 messages');
    expect(seen[0]?.payload.equals(big)).toBe(true);
    expect(seen.slice(1).map((s) => s.payload.toString())).toEqual(Array.from({ length: 300 }, (_, i) => `m${i}`));
    await backend.endAsync();
    await link.end(false);
  });
});

describe('refusals', () => {
  it('MQTT 5: a PUBLISH outside the ACL is refused (PUBACK 0x87): MqttSnError REJECTED, returnCode 3', async () => {
    const { link } = await open('link-a-acl', { version: 5 });
    const err = await link.publish('devices/someone-else/x', new Uint8Array([1]), 1, false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MqttSnError);
    expect(err).toMatchObject({ code: 'REJECTED', returnCode: 3 });
    expect((err as Error).message).toMatch(/not authorized \(0x87\)/);
    await link.end(false);
  });

  it.each([[4, /identifier rejected \(0x02\)/], [5, /unspecified error \(0x80\)/]] as const)('MQTT %i: a CONNECT the broker refuses (empty client id, allow_zero_length_clientid false) is REJECTED, returnCode 3, with its reason', async (version, reason) => {
    const err = await open('', { version, clean: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MqttSnError);
    expect(err).toMatchObject({ code: 'REJECTED', returnCode: 3 });
    expect((err as Error).message).toMatch(reason);
  });

  it('a CONNECT MQTT forbids (3.1.1 §3.1.3.1: empty client id without a clean session) is REJECTED, returnCode 3, before any socket opens', async () => {
    const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap').length;
    const before = sockets();
    const err = await open('', { clean: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MqttSnError);
    expect(err).toMatchObject({ code: 'REJECTED', returnCode: 3 });
    expect((err as Error).message).toMatch(/clientId must be given/);
    expect(sockets()).toBe(before);
  });
});

describe('liveness on the injected clock', () => {
  it('PINGREQ after half an idle keep-alive; a broker that stops answering is dropped after one period', async () => {
    const clock = new ManualTimers();
    const { link, errors, closed } = await open('link-a-ping', { clock, keepAliveS: 10 });
    clock.advance(5_000); // idle: PINGREQ
    await link.subscribe('devices/link-a/ping', 0); // Mosquitto answers in order: the PINGRESP came first
    clock.advance(10_000);
    expect(closed()).toBe(false);
    stopBroker();
    try {
      clock.advance(5_000); // PINGREQ, unanswered
      clock.advance(10_000); // a full period later: gone
      await waitUntil(closed, 10_000, 'the link to close');
      expect(errors.map((e) => (e as MqttSnError).code)).toEqual(['NETWORK_ERROR']);
      expect(errors[0]?.message).toMatch(/no PINGRESP/);
    } finally {
      contBroker();
    }
  });

  it('no CONNACK within connectTimeoutMs: NETWORK_ERROR', async () => {
    const clock = new ManualTimers();
    stopBroker(); // the kernel still completes TCP handshakes; TLS and MQTT get no answer
    try {
      const p = open('link-a-timeout', { clock, timeoutMs: 3_000 }).catch((e: unknown) => e);
      clock.advance(2_999);
      clock.advance(1);
      const err = await p;
      expect(err).toBeInstanceOf(MqttSnError);
      expect(err).toMatchObject({ code: 'NETWORK_ERROR' });
      expect((err as Error).message).toMatch(/no CONNACK within 3000 ms/);
    } finally {
      contBroker();
    }
  });

  it('the broker killed with a QoS 1 PUBLISH in flight: the publish fails NOT_CONNECTED, then close is reported', async () => {
    const { link, closed } = await open('link-a-kill');
    const order: string[] = [];
    link.listen({ message: () => {}, error: () => {}, close: () => { order.push('close'); } });
    stopBroker();
    let failed: Error | undefined;
    link.publishCallback?.('devices/link-a/x', new Uint8Array([1]), 1, false, (e) => {
      failed = e;
      order.push('publish failed');
    });
    await fleet.broker.kill();
    await waitUntil(() => order.length === 2, 10_000, 'close');
    expect(order).toEqual(['publish failed', 'close']);
    expect(failed).toMatchObject({ code: 'NOT_CONNECTED' });
    expect(closed()).toBe(false); // listen() replaced the first handlers
    const after = await link.publish('devices/link-a/x', new Uint8Array([1]), 1, false).catch((e: unknown) => e);
    expect(after).toMatchObject({ code: 'NOT_CONNECTED' }); // the last test: the broker stays down
  });
});
