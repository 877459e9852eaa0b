// Stateful fuzzing of the client state machine (fast-check commands): the client does its
// operations while a simulated gateway answers honestly, falls silent, or sends whatever it
// likes (REGISTER floods, QoS 2 PUBLISHes never released, stray acks, garbage). The client runs
// on a manual clock over an in-process datagram transport (no socket). After every step its
// tables stay within their limits, nothing escapes but MqttSnErrors from its own operations,
// and at the end an honest gateway gets a working client back.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MqttSnError, connectMqttSn, decodeMessage, encodeMessage, type DatagramBinder, type MqttSnClient, type MqttSnMessage, type UdpPeer } from '@outpost/device-sdk/mqtt-sn';
import { ManualTimers } from './fixtures/mqttsn-manual.js';
import { advanceBy, drain } from './fixtures/mqttsn-sim.js';

const GW: UdpPeer = { address: '10.9.9.9', port: 1884 };
const limits = { maxRegistrations: 6, maxAwaitingRelease: 3 };

class SimGateway {
  honest = true;
  deliver: ((d: Uint8Array, from: UdpPeer) => void) | undefined;
  readonly got: MqttSnMessage[] = [];
  private nextId = 1;
  readonly binder: DatagramBinder = async (onDatagram) => {
    this.deliver = onDatagram;
    return {
      send: (bytes) => {
        const m = decodeMessage(bytes as Uint8Array);
        this.got.push(m);
        if (this.got.length > 100) this.got.splice(0, 50);
        if (this.honest) queueMicrotask(() => this.answer(m));
      },
      address: () => ({ address: '127.0.0.1', port: 5555 }),
      close: async () => {},
    };
  };
  send(m: MqttSnMessage | Uint8Array): void {
    this.deliver?.(m instanceof Uint8Array ? m : encodeMessage(m), GW);
  }
  private answer(m: MqttSnMessage): void {
    switch (m.type) {
      case 'CONNECT': return this.send({ type: 'CONNACK', returnCode: 0 });
      case 'REGISTER': return this.send({ type: 'REGACK', topicId: this.nextId++ % 0xfffe || 1, msgId: m.msgId, returnCode: 0 });
      case 'PUBLISH': return m.qos === 1 ? this.send({ type: 'PUBACK', topicId: 0, msgId: m.msgId, returnCode: 0 }) : m.qos === 2 ? this.send({ type: 'PUBREC', msgId: m.msgId }) : undefined;
      case 'PUBREL': return this.send({ type: 'PUBCOMP', msgId: m.msgId });
      case 'SUBSCRIBE': return this.send({ type: 'SUBACK', qos: 1, topicId: 0, msgId: m.msgId, returnCode: 0 });
      case 'UNSUBSCRIBE': return this.send({ type: 'UNSUBACK', msgId: m.msgId });
      case 'PINGREQ': return this.send({ type: 'PINGRESP' });
      case 'DISCONNECT': return this.send({ type: 'DISCONNECT' });
      default:
    }
  }
}

interface World { c: MqttSnClient; gw: SimGateway; t: ManualTimers; unexpected: unknown[] }

const settleOp = (w: World, p: Promise<unknown>): void => {
  p.catch((e: unknown) => {
    if (!(e instanceof MqttSnError)) w.unexpected.push(e);
  });
};

async function step(w: World, act: () => void): Promise<void> {
  act();
  await drain();
  const s = w.c.sizes();
  expect(s.registrations).toBeLessThanOrEqual(limits.maxRegistrations);
  expect(s.awaitingRelease).toBeLessThanOrEqual(limits.maxAwaitingRelease);
  expect(s.pending).toBeLessThanOrEqual(3);
  expect(w.unexpected).toEqual([]);
}

type Cmd = fc.AsyncCommand<object, World>;
const cmd = (label: string, run: (w: World) => Promise<void>): Cmd => ({ check: () => true, run: async (_m, w) => run(w), toString: () => label });
const id16 = fc.integer({ min: 0, max: 0xffff });
const tname = fc.integer({ min: 0, max: 30 }).map((n) => `t/${n}`);

const commands: Array<fc.Arbitrary<Cmd>> = [
  fc.boolean().map((h) => cmd(`gateway ${h ? 'honest' : 'silent'}`, (w) => step(w, () => { w.gw.honest = h; }))),
  fc.tuple(fc.constantFrom('register', 'publish0', 'publish1', 'publish2', 'subscribe', 'ping', 'sleep', 'wake', 'resume'), tname).map(([op, n]) => cmd(`${op} ${n}`, (w) => step(w, () => {
    const c = w.c;
    const run = (): Promise<unknown> => {
      switch (op) {
        case 'register': return c.register(n);
        case 'publish0': return c.publish(n, 'x', { qos: 0 });
        case 'publish1': return c.publish(n, 'x', { qos: 1 });
        case 'publish2': return c.publish(n, 'x', { qos: 2 });
        case 'subscribe': return c.subscribe(n, { qos: 1 });
        case 'ping': return c.ping();
        case 'sleep': return c.sleep(5);
        case 'wake': return c.wake();
        default: return c.resume();
      }
    };
    try {
      settleOp(w, run());
    } catch (e) {
      if (!(e instanceof MqttSnError)) w.unexpected.push(e); // synchronous NOT_CONNECTED and the like
    }
  }))),
  fc.tuple(tname, id16).map(([n, id]) => cmd(`gw REGISTER ${n}=${id}`, (w) => step(w, () => w.gw.send({ type: 'REGISTER', topicId: id, msgId: id, topicName: n })))),
  fc.tuple(fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>, fc.integer({ min: 0, max: 10 }), id16).map(([q, tid, id]) => cmd(`gw PUBLISH q${q} id${tid} #${id}`, (w) => step(w, () => w.gw.send({ type: 'PUBLISH', dup: false, qos: q, retain: false, topic: { kind: 'normal', id: tid }, msgId: id, payload: new Uint8Array(3) })))),
  fc.tuple(fc.integer({ min: 1, max: 0xfff0 })).map(([id]) => cmd(`gw QoS 2 burst #${id}…`, async (w) => {
    for (let k = 0; k < 5; k++) await step(w, () => w.gw.send({ type: 'PUBLISH', dup: false, qos: 2, retain: false, topic: { kind: 'short', name: 'ab' }, msgId: id + k, payload: new Uint8Array(1) }));
  })),
  fc.tuple(fc.integer({ min: 0, max: 40 })).map(([n]) => cmd(`gw REGISTER flood ×${n}`, async (w) => {
    for (let k = 0; k < n; k++) await step(w, () => w.gw.send({ type: 'REGISTER', topicId: 100 + k, msgId: k + 1, topicName: `flood/${k}` }));
  })),
  fc.tuple(fc.integer({ min: 0, max: 9 }), id16).map(([k, id]) => cmd(`gw stray ${k} #${id}`, (w) => step(w, () => w.gw.send([
    { type: 'PUBREL', msgId: id }, { type: 'PUBACK', topicId: 1, msgId: id, returnCode: id % 4 }, { type: 'PUBREC', msgId: id }, { type: 'PUBCOMP', msgId: id },
    { type: 'SUBACK', qos: 1, topicId: id, msgId: id, returnCode: id % 4 }, { type: 'REGACK', topicId: id, msgId: id, returnCode: id % 4 }, { type: 'CONNACK', returnCode: id % 4 },
    { type: 'DISCONNECT' }, { type: 'PINGRESP' }, { type: 'WILLTOPICREQ' },
  ][k] as MqttSnMessage)))),
  fc.uint8Array({ maxLength: 30 }).map((b) => cmd(`gw garbage ${b.length}B`, (w) => step(w, () => w.gw.send(b)))),
  fc.integer({ min: 1, max: 30_000 }).map((ms) => cmd(`advance ${ms}`, async (w) => {
    await advanceBy(w.t, ms, 500);
    await step(w, () => {});
  })),
];

async function recovers(w: World): Promise<void> {
  w.gw.honest = true;
  await advanceBy(w.t, 600_000, 5000); // every pending exchange runs out of retries
  const c = w.c;
  if (c.state === 'awake') return; // a wake answered only by PINGRESP: covered by the steps
  if (c.state !== 'active') {
    const r = c.resume();
    await drain();
    await r;
  }
  const p = c.ping();
  await drain();
  await p;
  expect(c.state).toBe('active');
}

describe('client under a hostile gateway (stateful fuzz)', () => {
  it('keeps its tables within limits, raises only MqttSnErrors, and works again with an honest gateway', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 120, size: 'max' }), async (cmds) => {
        const t = new ManualTimers();
        const gw = new SimGateway();
        const connecting = connectMqttSn({ gateway: { host: GW.address, port: GW.port }, clientId: 'fz', transport: gw.binder, timers: t, random: () => 0.5, retry: { tRetryMs: 1000, nRetry: 2 }, keepAliveS: 20, ...limits });
        await drain();
        const c = await connecting;
        const w: World = { c, gw, t, unexpected: [] };
        c.on('message', () => {});
        try {
          await fc.asyncModelRun(() => ({ model: {}, real: w }), cmds);
          await recovers(w);
        } finally {
          await c.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});
