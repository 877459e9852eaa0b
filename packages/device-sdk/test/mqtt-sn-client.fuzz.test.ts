// Stateful fuzzing of the client state machine (fast-check commands), driven directly: no
// socket, no timer, no promise. Commands go into MqttSnClientMachine, its datagrams go to a
// simulated gateway that answers honestly, falls silent, or sends whatever it likes (REGISTER
// floods, QoS 2 PUBLISHes never released, stray acks, garbage), and time moves only by
// handleTimer(deadline). After every step its tables stay within their limits, its next
// deadline is in the future (no timer is missed or early), every operation that failed failed
// with an MqttSnError, and at the end an honest gateway gets a working client back.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MqttSnClientMachine, MqttSnError, decodeMessage, encodeMessage, type MqttSnMessage } from '@outpost/device-sdk/mqtt-sn';

const limits = { maxRegistrations: 6, maxAwaitingRelease: 3 };
const enc = new TextEncoder();

class SimGateway {
  honest = true;
  private nextId = 1;
  answer(m: MqttSnMessage): MqttSnMessage | undefined {
    if (!this.honest) return undefined;
    switch (m.type) {
      case 'CONNECT': return { type: 'CONNACK', returnCode: 0 };
      case 'REGISTER': return { type: 'REGACK', topicId: this.nextId++ % 0xfffe || 1, msgId: m.msgId, returnCode: 0 };
      case 'PUBLISH': return m.qos === 1 ? { type: 'PUBACK', topicId: 0, msgId: m.msgId, returnCode: 0 } : m.qos === 2 ? { type: 'PUBREC', msgId: m.msgId } : undefined;
      case 'PUBREL': return { type: 'PUBCOMP', msgId: m.msgId };
      case 'SUBSCRIBE': return { type: 'SUBACK', qos: 1, topicId: 0, msgId: m.msgId, returnCode: 0 };
      case 'UNSUBSCRIBE': return { type: 'UNSUBACK', msgId: m.msgId };
      case 'PINGREQ': return { type: 'PINGRESP' };
      case 'DISCONNECT': return { type: 'DISCONNECT' };
      default: return undefined;
    }
  }
}

interface World { c: MqttSnClientMachine; gw: SimGateway; now: number; outcomes: Map<number, 'done' | 'failed'>; unexpected: unknown[] }

/** Runs the machine's output through the simulated gateway until it is quiet. */
function pump(w: World): void {
  for (let round = 0; round < 50; round++) {
    const { datagrams, events } = w.c.poll();
    for (const e of events) {
      if (e.type === 'done') w.outcomes.set(e.op, 'done');
      if (e.type === 'failed') {
        w.outcomes.set(e.op, 'failed');
        if (!(e.error instanceof MqttSnError)) w.unexpected.push(e.error);
      }
    }
    if (datagrams.length === 0) return;
    for (const d of datagrams) {
      const reply = w.gw.answer(decodeMessage(d.bytes as Uint8Array));
      if (reply !== undefined) w.c.handleDatagram(encodeMessage(reply), w.now);
    }
  }
}

function step(w: World, act: () => void): void {
  try {
    act();
  } catch (e) {
    if (!(e instanceof MqttSnError)) w.unexpected.push(e); // synchronous NOT_CONNECTED and the like
  }
  pump(w);
  const s = w.c.sizes();
  expect(s.registrations).toBeLessThanOrEqual(limits.maxRegistrations);
  expect(s.awaitingRelease).toBeLessThanOrEqual(limits.maxAwaitingRelease);
  expect(s.pending).toBeLessThanOrEqual(3);
  const d = w.c.nextDeadline();
  if (d !== undefined) expect(d).toBeGreaterThan(w.now);
  expect(w.unexpected).toEqual([]);
}

/** Moves time to `now + ms`, firing each deadline at its own time (never early, never skipped). */
function advance(w: World, ms: number): void {
  const end = w.now + ms;
  for (let d = w.c.nextDeadline(); d !== undefined && d <= end; d = w.c.nextDeadline()) {
    w.now = d;
    step(w, () => w.c.handleTimer(d));
  }
  w.now = end;
}

type Cmd = fc.Command<object, World>;
const cmd = (label: string, run: (w: World) => void): Cmd => ({ check: () => true, run: (_m, w) => run(w), toString: () => label });
const id16 = fc.integer({ min: 0, max: 0xffff });
const tname = fc.integer({ min: 0, max: 30 }).map((n) => `t/${n}`);
const gwSend = (w: World, m: MqttSnMessage | Uint8Array): void => w.c.handleDatagram(m instanceof Uint8Array ? m : encodeMessage(m), w.now);

const commands: Array<fc.Arbitrary<Cmd>> = [
  fc.boolean().map((h) => cmd(`gateway ${h ? 'honest' : 'silent'}`, (w) => step(w, () => { w.gw.honest = h; }))),
  fc.tuple(fc.constantFrom('register', 'publish0', 'publish1', 'publish2', 'subscribe', 'unsubscribe', 'will', 'ping', 'sleep', 'wake', 'resume', 'abort'), tname).map(([op, n]) => cmd(`${op} ${n}`, (w) => step(w, () => {
    const c = w.c;
    const x = enc.encode('x');
    switch (op) {
      case 'register': return void c.register(n, w.now);
      case 'publish0': return void c.publish(n, x, 0, false, w.now);
      case 'publish1': return void c.publish(n, x, 1, false, w.now);
      case 'publish2': return void c.publish(n, x, 2, false, w.now);
      case 'subscribe': return void c.subscribe({ kind: 'name', name: n }, 1, w.now);
      case 'unsubscribe': return void c.unsubscribe({ kind: 'name', name: n }, w.now);
      case 'will': return void c.updateWill({ topic: n, payload: 'gone' }, w.now);
      case 'ping': return void c.ping(w.now);
      case 'sleep': return void c.sleep(5, w.now);
      case 'wake': return void c.wake(w.now);
      case 'resume': return void c.resume(w.now);
      default: for (let op2 = 1; op2 < 1000; op2++) if (!w.outcomes.has(op2)) return void c.abort(op2, 'fuzz', w.now);
    }
  }))),
  fc.tuple(tname, id16).map(([n, id]) => cmd(`gw REGISTER ${n}=${id}`, (w) => step(w, () => gwSend(w, { type: 'REGISTER', topicId: id, msgId: id, topicName: n })))),
  fc.tuple(fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>, fc.integer({ min: 0, max: 10 }), id16).map(([q, tid, id]) => cmd(`gw PUBLISH q${q} id${tid} #${id}`, (w) => step(w, () => gwSend(w, { type: 'PUBLISH', dup: false, qos: q, retain: false, topic: { kind: 'normal', id: tid }, msgId: id, payload: new Uint8Array(3) })))),
  fc.tuple(fc.integer({ min: 1, max: 0xfff0 })).map(([id]) => cmd(`gw QoS 2 burst #${id}…`, (w) => {
    for (let k = 0; k < 5; k++) step(w, () => gwSend(w, { type: 'PUBLISH', dup: false, qos: 2, retain: false, topic: { kind: 'short', name: 'ab' }, msgId: id + k, payload: new Uint8Array(1) }));
  })),
  fc.tuple(fc.integer({ min: 0, max: 40 })).map(([n]) => cmd(`gw REGISTER flood ×${n}`, (w) => {
    for (let k = 0; k < n; k++) step(w, () => gwSend(w, { type: 'REGISTER', topicId: 100 + k, msgId: k + 1, topicName: `flood/${k}` }));
  })),
  fc.tuple(fc.integer({ min: 0, max: 9 }), id16).map(([k, id]) => cmd(`gw stray ${k} #${id}`, (w) => step(w, () => gwSend(w, [
    { type: 'PUBREL', msgId: id }, { type: 'PUBACK', topicId: 1, msgId: id, returnCode: id % 4 }, { type: 'PUBREC', msgId: id }, { type: 'PUBCOMP', msgId: id },
    { type: 'SUBACK', qos: 1, topicId: id, msgId: id, returnCode: id % 4 }, { type: 'REGACK', topicId: id, msgId: id, returnCode: id % 4 }, { type: 'CONNACK', returnCode: id % 4 },
    { type: 'DISCONNECT' }, { type: 'PINGRESP' }, { type: 'WILLTOPICREQ' },
  ][k] as MqttSnMessage)))),
  fc.uint8Array({ maxLength: 30 }).map((b) => cmd(`gw garbage ${b.length}B`, (w) => step(w, () => gwSend(w, b)))),
  fc.integer({ min: 1, max: 30_000 }).map((ms) => cmd(`advance ${ms}`, (w) => advance(w, ms))),
];

function recovers(w: World): void {
  w.gw.honest = true;
  advance(w, 600_000); // every pending exchange runs out of retries
  const c = w.c;
  expect(c.sizes().pending).toBeLessThanOrEqual(1); // at most the keep-alive PINGREQ, answered
  if (c.state === 'awake') return; // a wake answered only by PINGRESP: covered by the steps
  if (c.state !== 'active') {
    const r = c.resume(w.now);
    pump(w);
    expect(w.outcomes.get(r)).toBe('done');
  }
  const p = c.ping(w.now);
  pump(w);
  expect(w.outcomes.get(p)).toBe('done');
  expect(c.state).toBe('active');
}

describe('client state machine under a hostile gateway (stateful fuzz, no sockets, no timers)', () => {
  it('keeps its tables within limits, fails only with MqttSnErrors, never misses a deadline, and works again with an honest gateway', () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 120, size: 'max' }), (cmds) => {
        const c = new MqttSnClientMachine({ clientId: 'fz', random: () => 0.5, retry: { tRetryMs: 1000, nRetry: 2 }, keepAliveS: 20, ...limits });
        const w: World = { c, gw: new SimGateway(), now: 0, outcomes: new Map(), unexpected: [] };
        const op = c.connect(0);
        pump(w);
        expect(w.outcomes.get(op)).toBe('done');
        fc.modelRun(() => ({ model: {}, real: w }), cmds);
        recovers(w);
        c.close(w.now);
        pump(w);
        expect(c.nextDeadline()).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  });
});
