// Stateful fuzzing of the gateway (fast-check commands): 50 simulated clients — 5 honest, 45
// hostile — and garbage datagrams, driven through the gateway's datagram transport with a
// manual clock. The broker side is an in-process stand-in (fixtures/mqttsn-sim.ts), so a run
// of thousands of datagrams takes a second. After every step: the per-client tables stay
// within the configured limits, the number of sessions within maxClients, topic ids are
// one-to-one per session (MQTT-SN 1.2 §6.5), message ids are never 0 (§5.3.7), a datagram never
// triggers more than two replies on its own (no amplification), and nothing escapes as an error.
// At the end of every run the honest clients are still served. The same again in aggregating
// mode (one stand-in broker connection for all, the gateway admitting c0…c39 and refusing
// topics t/3*): additionally, no refused topic ever reaches the broker.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MqttSnGateway, MsgType, type MqttSnMessage } from '@outpost/device-sdk/mqtt-sn';
import { ManualTimers } from './fixtures/mqttsn-manual.js';
import { SimBroker, SimTransport, advanceBy, drain, peerOf } from './fixtures/mqttsn-sim.js';

const CLIENTS = 50;
const HONEST = 5;
const limits = { maxClients: 12, maxRegistrations: 4, maxSubscriptions: 2, maxInflight: 2, sleepBufferMax: 4, sleepBufferBytes: 300, maxQueued: 8, maxQueuedBytes: 600, maxWillBytes: 64 };

interface World {
  gw: MqttSnGateway;
  net: SimTransport;
  broker: SimBroker;
  t: ManualTimers;
  errors: string[];
  /** Per client: name → id the gateway handed out in this session (REGACK accepted or its REGISTER). */
  ids: Map<number, Map<string, number>>;
  honestTopic: number[];
  agg: boolean;
}

const refusedTopic = (t: string): boolean => t.startsWith('t/3') || t === '#';

async function world(agg = false): Promise<World> {
  const t = new ManualTimers();
  const net = new SimTransport();
  const broker = new SimBroker();
  const gw = new MqttSnGateway({
    broker: { url: 'mqtts://127.0.0.1:1' },
    identity: { clientId: 'gw', cert: 'x', key: 'y' },
    ...(agg ? { mode: 'aggregating' as const, admit: (id: string) => /^c[0-3]?\d$/.test(id), authorize: (_c: string, _a: string, t: string) => !refusedTopic(t) } : { useGatewayIdentity: 'always' as const }),
    predefinedTopics: { 1: 'pre/one' },
    transport: net.binder,
    connectBroker: broker.connect,
    clock: t,
    retry: { tRetryMs: 1000, nRetry: 2, jitter: 0 },
    ...limits,
  });
  const errors: string[] = [];
  gw.on('error', (e) => {
    if ((e.error as { code?: string }).code !== 'INVALID_TOPIC') errors.push(e.error.stack ?? String(e.error));
  });
  await gw.start();
  const w: World = { gw, net, broker, t, errors, ids: new Map(), honestTopic: [], agg };
  for (let i = 0; i < HONEST; i++) {
    net.honest.add(`${peerOf(i).address}:${peerOf(i).port}`);
    net.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, durationS: 0, clientId: `c${i}` }, peerOf(i));
    await drain();
    net.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: `h/${i}` }, peerOf(i));
    const reg = net.take(peerOf(i)).find((m) => m.type === 'REGACK');
    if (reg?.type !== 'REGACK' || reg.returnCode !== 0) throw new Error(`honest client ${i} could not register: ${JSON.stringify(reg)}`);
    w.honestTopic.push(reg.topicId);
  }
  return w;
}

/** Records what the gateway told each client, checking ids as they go by. */
function observe(w: World, i: number, sent: MqttSnMessage[], asked: Map<number, string>): void {
  let ids = w.ids.get(i);
  if (ids === undefined) w.ids.set(i, (ids = new Map()));
  for (const m of sent) {
    if ((m.type === 'REGISTER' || (m.type === 'PUBLISH' && m.qos > 0) || m.type === 'PUBREL') && m.msgId === 0) throw new Error(`gateway sent ${m.type} with MsgId 0 to c${i}`);
    let name: string | undefined;
    let id = 0;
    if (m.type === 'REGISTER') [name, id] = [m.topicName, m.topicId];
    if (m.type === 'REGACK' && m.returnCode === 0) [name, id] = [asked.get(m.msgId), m.topicId];
    if (name === undefined) continue;
    if (id === 0 || id === 0xffff) throw new Error(`gateway gave c${i} reserved topic id ${id}`);
    const prior = ids.get(name);
    if (prior !== undefined && prior !== id) throw new Error(`c${i}: "${name}" had id ${prior}, now ${id}`);
    for (const [n, x] of ids) if (x === id && n !== name) throw new Error(`c${i}: id ${id} given to "${n}" and "${name}"`);
    ids.set(name, id);
  }
}

function checkInvariants(w: World): void {
  const cs = w.gw.clients();
  expect(cs.length).toBeLessThanOrEqual(limits.maxClients);
  expect(new Set(cs.map((c) => c.clientId)).size).toBe(cs.length);
  for (const c of cs) {
    expect(c.registrations).toBeLessThanOrEqual(limits.maxRegistrations);
    expect(c.subscriptions).toBeLessThanOrEqual(limits.maxSubscriptions);
    expect(c.inflight).toBeLessThanOrEqual(limits.maxInflight);
    expect(c.queued).toBeLessThanOrEqual(Math.max(limits.maxQueued, limits.sleepBufferMax) + 1);
    expect(c.queuedBytes).toBeLessThanOrEqual(Math.max(limits.maxQueuedBytes, limits.sleepBufferBytes) + 256);
    expect(c.pending).toBeLessThanOrEqual(2);
  }
  expect(w.errors).toEqual([]);
  if (w.agg) {
    expect(w.broker.links.size, 'one broker connection').toBeLessThanOrEqual(1);
    expect(w.broker.published.filter((p) => refusedTopic(p.topic)), 'refused topics at the broker').toEqual([]);
    expect([...(w.broker.links.get('gw')?.subs ?? [])].filter(refusedTopic), 'refused filters at the broker').toEqual([]);
  }
}

/** The broker link a message for client i arrives on: its own, or the aggregating gateway's one. */
const linkOf = (w: World, i: number): string => (w.agg ? 'gw' : `c${i}`);

/** One step: a datagram from client i (or the clock, or the broker), then the invariants. */
async function step(w: World, i: number, what: MqttSnMessage | Uint8Array | null): Promise<void> {
  const asked = new Map<number, string>();
  if (what !== null && !(what instanceof Uint8Array) && what.type === 'REGISTER') asked.set(what.msgId, what.topicName);
  if (what !== null && !(what instanceof Uint8Array) && what.type === 'CONNECT') w.ids.delete(i); // a new or resumed session: start the id check afresh
  const before = w.net.sent;
  if (what instanceof Uint8Array) w.net.inject(what, peerOf(i));
  else if (what !== null) w.net.send(what, peerOf(i));
  expect(w.net.sent - before, 'replies to one datagram').toBeLessThanOrEqual(2);
  await drain();
  for (let k = 0; k < CLIENTS; k++) observe(w, k, w.net.take(peerOf(k)), k === i ? asked : new Map());
  checkInvariants(w);
}

// Most traffic comes from a few busy hostile clients, so sessions get deep; the rest fill the table.
const hostile = fc.oneof({ arbitrary: fc.integer({ min: HONEST, max: HONEST + 5 }), weight: 3 }, { arbitrary: fc.integer({ min: HONEST, max: CLIENTS - 1 }), weight: 1 });
const anyClient = fc.oneof(fc.integer({ min: 0, max: HONEST - 1 }), hostile);
const msgId = fc.integer({ min: 0, max: 0xffff });
const name = fc.oneof(fc.integer({ min: 0, max: 40 }).map((n) => `t/${n}`), fc.constantFrom('a/+', '#', '', 'pre/one', 'zz'));
const qos = fc.constantFrom(-1, 0, 1, 2) as fc.Arbitrary<-1 | 0 | 1 | 2>;
const topic = fc.oneof(
  fc.record({ kind: fc.constant('normal' as const), id: fc.integer({ min: 0, max: 20 }) }),
  fc.record({ kind: fc.constant('predefined' as const), id: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('short' as const), name: fc.constantFrom('zz', 'ab') }),
);
const payload = fc.integer({ min: 0, max: 200 }).map((n) => new Uint8Array(n));

type Cmd = fc.AsyncCommand<object, World>;
const cmd = (label: string, run: (w: World) => Promise<void>): Cmd => ({ check: () => true, run: async (_m, w) => run(w), toString: () => label });

const connect = fc.tuple(hostile, fc.boolean(), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 3 }).map((n) => n === 0)).map(([i, clean, ka, will]) => cmd(`connect c${i} clean=${clean} ka=${ka} will=${will}`, (w) => step(w, i, { type: 'CONNECT', will, cleanSession: clean, protocolId: 1, durationS: ka, clientId: `c${i}` })));
const commands: Array<fc.Arbitrary<Cmd>> = [
  connect,
  connect,
  connect,
  fc.tuple(hostile, fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 100 })).map(([i, tl, ml]) => cmd(`will c${i} ${tl}+${ml}`, async (w) => {
    await step(w, i, { type: 'WILLTOPIC', qos: 1, retain: false, topic: 'w'.repeat(tl) });
    await step(w, i, { type: 'WILLMSG', message: new Uint8Array(ml) });
  })),
  fc.tuple(anyClient, name, msgId).map(([i, n, id]) => cmd(`register c${i} ${n} #${id}`, (w) => step(w, i, { type: 'REGISTER', topicId: 0, msgId: id, topicName: n }))),
  fc.tuple(anyClient, name, msgId).map(([i, n, id]) => cmd(`register c${i} ${n} #${id}`, (w) => step(w, i, { type: 'REGISTER', topicId: 0, msgId: id, topicName: n }))),
  fc.tuple(anyClient, qos, topic, msgId, payload).map(([i, q, t, id, p]) => cmd(`publish c${i} q${q} ${JSON.stringify(t)} #${id}`, (w) => step(w, i < HONEST && q === -1 ? i : i, { type: 'PUBLISH', dup: false, qos: q, retain: false, topic: t, msgId: id, payload: p }))),
  fc.tuple(hostile, fc.integer({ min: 1, max: 0xfff0 })).map(([i, id]) => cmd(`qos 2 burst c${i} #${id}…`, async (w) => {
    for (let k = 0; k < 4; k++) await step(w, i, { type: 'PUBLISH', dup: false, qos: 2, retain: false, topic: { kind: 'short', name: 'zz' }, msgId: id + k, payload: new Uint8Array(1) });
  })),
  fc.tuple(anyClient, fc.integer({ min: 2, max: 12 }), payload).map(([i, n, p]) => cmd(`broker burst → c${i} ×${n}`, async (w) => {
    for (let k = 0; k < n; k++) w.broker.deliver(linkOf(w, i), w.agg ? `t/${k % 3}` : `b/${k % 3}`, p, 1);
    await step(w, i, null);
  })),
  fc.tuple(hostile, msgId).map(([i, id]) => cmd(`pubrel c${i} #${id}`, (w) => step(w, i, { type: 'PUBREL', msgId: id }))),
  fc.tuple(anyClient, name, msgId).map(([i, n, id]) => cmd(`subscribe c${i} ${n}`, (w) => step(w, i, { type: 'SUBSCRIBE', dup: false, qos: 1, msgId: id, topic: n.length === 2 ? { kind: 'short', name: n } : { kind: 'name', name: n } }))),
  fc.tuple(hostile, name, msgId).map(([i, n, id]) => cmd(`unsubscribe c${i} ${n}`, (w) => step(w, i, { type: 'UNSUBSCRIBE', msgId: id, topic: { kind: 'name', name: n } }))),
  fc.tuple(hostile, fc.integer({ min: 0, max: 20 })).map(([i, d]) => cmd(`disconnect c${i} ${d}s`, (w) => step(w, i, d === 0 ? { type: 'DISCONNECT' } : { type: 'DISCONNECT', durationS: d }))),
  fc.tuple(hostile, fc.boolean()).map(([i, own]) => cmd(`pingreq c${i}`, (w) => step(w, i, own ? { type: 'PINGREQ', clientId: `c${i}` } : { type: 'PINGREQ' }))),
  fc.tuple(hostile, fc.integer({ min: 0, max: 5 }), msgId).map(([i, k, id]) => cmd(`ack c${i}`, (w) => step(w, i, [
    { type: 'REGACK', topicId: id & 0xff, msgId: id, returnCode: 0 },
    { type: 'PUBACK', topicId: 1, msgId: id, returnCode: 0 },
    { type: 'PUBREC', msgId: id },
    { type: 'PUBCOMP', msgId: id },
    { type: 'WILLTOPICUPD', qos: 0, retain: false, topic: 'x'.repeat(id % 100) },
    { type: 'WILLMSGUPD', message: new Uint8Array(id % 100) },
  ][k] as MqttSnMessage))),
  fc.tuple(anyClient, fc.integer({ min: 0, max: 5 }), payload, fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>).map(([i, n, p, q]) => cmd(`broker → c${i} q${q}`, async (w) => {
    w.broker.deliver(linkOf(w, i), n === 0 ? 'ab' : n === 1 ? 'pre/one' : w.agg ? `t/${n}` : `b/${n}/${i}`, p, q);
    await step(w, i, null);
  })),
  fc.tuple(hostile, fc.uint8Array({ maxLength: 40 })).map(([i, b]) => cmd(`garbage c${i} ${b.length}B`, (w) => step(w, i, b))),
  fc.tuple(hostile, fc.constantFrom(...Object.values(MsgType)), fc.uint8Array({ maxLength: 30 })).map(([i, type, body]) => cmd(`mutant c${i} type ${type}`, (w) => step(w, i, Uint8Array.of(body.length + 2, type, ...body)))),
  fc.integer({ min: 1, max: 4000 }).map((ms) => cmd(`advance ${ms} ms`, async (w) => {
    await advanceBy(w.t, ms);
    await step(w, 0, null);
  })),
];

async function stillServed(w: World): Promise<void> {
  for (let i = 0; i < HONEST; i++) {
    const before = w.broker.published.length;
    w.net.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topic: { kind: 'normal', id: w.honestTopic[i] as number }, msgId: 7, payload: Uint8Array.of(i) }, peerOf(i));
    await drain();
    expect(w.net.take(peerOf(i)).filter((m) => m.type === 'PUBACK')).toEqual([{ type: 'PUBACK', topicId: w.honestTopic[i], msgId: 7, returnCode: 0 }]);
    expect(w.broker.published.slice(before).map((p) => p.topic)).toEqual([`h/${i}`]);
  }
}

describe('gateway under 50 simulated clients, hostile ones among them (stateful fuzz)', () => {
  it.each(['transparent', 'aggregating'])('keeps every table within its limit, ids one-to-one, and serves the honest clients (%s)', async (mode) => {
    const totals: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 200, size: 'max' }), async (cmds) => {
        const w = await world(mode === 'aggregating');
        try {
          await fc.asyncModelRun(() => ({ model: {}, real: w }), cmds);
          await stillServed(w);
          for (const [k, v] of Object.entries(w.gw.stats())) totals[k] = (totals[k] ?? 0) + v;
        } finally {
          await w.gw.close();
        }
      }),
      // A fixed seed by default: the coverage check below (every limit was reached) must not depend
      // on luck — one CI run in many drew no refused will. FUZZ_SEED / FUZZ_RUNS explore further.
      // (The aggregating run's seed is one whose runs reach every limit too, with its refusals in the way.)
      { numRuns: Number(process.env['FUZZ_RUNS'] ?? 20), seed: Number(process.env['FUZZ_SEED'] ?? (mode === 'aggregating' ? 20261208 : 20261207)) },
    );
    // the runs reached the limits they are meant to test (else the invariants checked little)
    if (process.env['FUZZ_DEBUG'] !== undefined) console.log(totals);
    for (const k of ['rejectedRegistrations', 'rejectedSubscriptions', 'rejectedPublishes', 'rejectedWills', 'rejected', 'malformed', 'lost', 'sleepBuffered', 'queueDropped', ...(mode === 'aggregating' ? ['unauthorized'] : [])]) expect(totals[k], k).toBeGreaterThan(0);
  });

  it('a client registering without end meets maxRegistrations, and the others are served meanwhile', async () => {
    const w = await world();
    const p = peerOf(HONEST);
    w.net.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, durationS: 0, clientId: 'greedy' }, p);
    await drain();
    const codes: number[] = [];
    for (let n = 0; n < 5000; n++) {
      w.net.send({ type: 'REGISTER', topicId: 0, msgId: (n % 0xfffe) + 1, topicName: `g/${n}` }, p);
      for (const m of w.net.take(p)) if (m.type === 'REGACK') codes.push(m.returnCode);
    }
    expect(codes.filter((c) => c === 0).length).toBe(limits.maxRegistrations);
    expect(codes.filter((c) => c === 1).length).toBe(5000 - limits.maxRegistrations);
    expect(w.gw.stats().rejectedRegistrations).toBe(5000 - limits.maxRegistrations);
    await stillServed(w);
    await w.gw.close();
  });
});
