/**
 * Stateful fuzzing of the CoAP message layer with fast-check commands, driving the sans-I/O
 * CoapEndpointMachine directly (no socket, no timer, no promise; time moves only through
 * handleTimer at each deadline):
 * requests (CON/NON), piggybacked and empty ACKs, separate responses (CON/NON), RST, late and
 * duplicate ACKs, duplicated datagrams, observe notifications in any order, aborts, garbage and
 * time. Invariants after every step: what is pending equals what has not settled, every CON from
 * the server is answered (ACK or RST, same message id), retransmissions never early and never
 * more than MAX_RETRANSMIT, distinct tokens, bounded dedup state; and at the end every request
 * settles once time passes. Then observe through the client: notifications reordered and
 * duplicated, only the fresher ones yielded (RFC 7641 §3.4), the queue bounded. The server
 * side is a fake link here (FakeLink): exact control of every datagram and of time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@outpost/test-peers';
import { CoapOptionNumber, connectCoap, decodeMessage, encodeMessage, resolveTiming, type CoapMessage, type TransmitEvent } from '../src/coap/index.js';
import { CoapEndpointMachine } from '../src/coap/endpoint-machine.js';
import { ManualClock } from './fixtures/coap-clock.js';
import { FakeLink } from './fixtures/coap-link.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
const timing = resolveTiming({});

interface Req {
  readonly id: number;
  op: number;
  readonly confirmable: boolean;
  token: string | undefined;
  mid: number | undefined;
  settled: 'resolved' | 'rejected' | undefined;
  outcome: string | undefined;
}

class World {
  now = 0;
  readonly out: CoapMessage[] = [];
  readonly tx: TransmitEvent[] = [];
  readonly reqs: Req[] = [];
  /** Datagrams delivered to the endpoint so far (for duplicates). */
  readonly delivered: Uint8Array[] = [];
  /** [time, type, mid] of CON/NON the server sent, for the dedup bound. */
  readonly serverMsgs: Array<{ at: number; type: 'CON' | 'NON'; mid: number }> = [];
  readonly notified = new Map<string, number>();
  readonly listenTokens: Uint8Array[] = [];
  readonly ep: CoapEndpointMachine;
  private nextServerMid = 0x4000;
  private tokenSeq = 0;

  constructor(seed: number) {
    const rnd = mulberry32(seed);
    this.ep = new CoapEndpointMachine({
      timing,
      random: rnd,
      randomBytes: (n) => {
        // random, but let the seed also force collisions now and then (newToken must retry)
        const b = new Uint8Array(n);
        const v = rnd() < 0.1 ? this.tokenSeq : ++this.tokenSeq;
        new DataView(b.buffer).setUint32(0, v);
        return b;
      },
      responseTimeout: timing.maxTransmitWait,
      onTransmit: (e) => {
        this.tx.push(e);
        const r = this.reqs.find((x) => x.token === hex(e.token) && x.settled === undefined) ?? this.reqs.find((x) => x.token === undefined && x.settled === undefined);
        if (r !== undefined) {
          r.token = hex(e.token);
          r.mid = e.messageId;
        }
      },
    });
  }

  /** Takes the machine's output: datagrams to the fake server, outcomes to the requests. */
  drain(): void {
    const { datagrams, events } = this.ep.poll();
    for (const d of datagrams) this.out.push(decodeMessage((d.bytes as Uint8Array).slice()));
    for (const e of events) {
      if (e.type === 'notification') {
        if (!this.listenTokens.some((t) => hex(t) === e.key)) throw new Error(`notification on ${e.key}, which nobody listens to`);
        this.notified.set(e.key, (this.notified.get(e.key) ?? 0) + 1);
        continue;
      }
      const r = this.reqs.find((x) => x.op === e.op);
      if (r === undefined || r.settled !== undefined) throw new Error(`outcome for op ${e.op} that is not pending`);
      if (e.type === 'response') [r.settled, r.outcome] = ['resolved', String(e.message.code)];
      else [r.settled, r.outcome] = ['rejected', (e.error as { code?: string }).code];
    }
  }

  /** Moves time to now + ms, firing each deadline at its own time (never early, never skipped). */
  advance(ms: number): void {
    const end = this.now + ms;
    for (let d = this.ep.nextDeadline(); d !== undefined && d <= end; d = this.ep.nextDeadline()) {
      expect(d).toBeGreaterThanOrEqual(this.now);
      this.now = d;
      this.ep.handleTimer(d);
      this.drain();
    }
    this.now = end;
  }

  serverMid(): number {
    this.nextServerMid = (this.nextServerMid + 1) & 0xffff;
    return this.nextServerMid;
  }

  deliver(m: Omit<CoapMessage, 'options' | 'payload'> & Partial<Pick<CoapMessage, 'options' | 'payload'>>): void {
    const bytes = encodeMessage({ options: [], payload: new Uint8Array(0), ...m });
    this.deliverRaw(bytes);
  }

  deliverRaw(bytes: Uint8Array): void {
    this.delivered.push(bytes);
    if (this.delivered.length > 64) this.delivered.shift();
    const before = this.out.length;
    let m: CoapMessage | undefined;
    try {
      m = decodeMessage(bytes);
    } catch {
      m = undefined;
    }
    if (m !== undefined && (m.type === 'CON' || m.type === 'NON')) this.serverMsgs.push({ at: this.now, type: m.type, mid: m.messageId });
    this.ep.handleDatagram(bytes, this.now);
    this.drain();
    // RFC 7252 §4.2/§4.3: a CON from the server gets exactly one ACK or RST with its message id.
    if (m !== undefined && m.type === 'CON') {
      const replies = this.out.slice(before).filter((r) => (r.type === 'ACK' || r.type === 'RST') && r.messageId === m.messageId);
      expect(replies.length).toBe(1);
    }
  }

  /** Transmitted, unsettled requests. */
  live(): Req[] {
    return this.reqs.filter((r) => r.settled === undefined && r.mid !== undefined);
  }

  /** Any transmitted request, settled or not (late ACKs and responses). */
  sent(): Req[] {
    return this.reqs.filter((r) => r.mid !== undefined);
  }

  check(): void {
    const t = this.ep.tracked();
    const unsettled = this.reqs.filter((r) => r.settled === undefined).length;
    expect(this.ep.pending).toBe(unsettled);
    expect(t.exchanges).toBe(unsettled);
    expect(t.awaitingAck).toBeLessThanOrEqual(timing.nstart);
    const live = this.live().map((r) => r.token);
    expect(new Set(live).size).toBe(live.length); // distinct tokens among pending exchanges
    // Retransmissions: same message id, at most MAX_RETRANSMIT, never before the armed timeout.
    const byMid = new Map<number, TransmitEvent[]>();
    for (const e of this.tx) byMid.set(e.messageId, [...(byMid.get(e.messageId) ?? []), e]);
    for (const evs of byMid.values()) {
      expect(evs.length).toBeLessThanOrEqual(timing.maxRetransmit + 1);
      for (let i = 1; i < evs.length; i++) {
        expect(evs[i]!.attempt).toBe(i);
        expect(evs[i]!.at - evs[i - 1]!.at).toBeGreaterThanOrEqual(evs[i - 1]!.timeoutMs!);
      }
    }
    // Dedup memory: bounded by what arrived within the lifetime (swept on each receive), never above 2^16.
    const now = this.now;
    const recentCon = new Set(this.serverMsgs.filter((m) => m.type === 'CON' && m.at > now - timing.exchangeLifetime).map((m) => m.mid)).size;
    const recentNon = new Set(this.serverMsgs.filter((m) => m.type === 'NON' && m.at > now - timing.nonLifetime).map((m) => m.mid)).size;
    const lastRx = this.serverMsgs.at(-1)?.at ?? 0;
    if (lastRx === now) {
      expect(t.seenCon).toBeLessThanOrEqual(recentCon);
      expect(t.seenNon).toBeLessThanOrEqual(recentNon);
    }
    expect(t.seenCon).toBeLessThanOrEqual(0x10000);
    expect(t.listeners).toBe(this.listenTokens.length);
  }
}

type Cmd = fc.Command<object, World>;
const cmd = (name: string, run: (w: World) => void): Cmd => ({
  check: () => true,
  run(_m, w) {
    run(w);
    w.drain();
    w.check();
  },
  toString: () => name,
});

const pick = <T>(xs: readonly T[], i: number): T | undefined => (xs.length === 0 ? undefined : xs[i % xs.length]);

const commands = [
  fc.boolean().map((con) =>
    cmd(`request(${con ? 'CON' : 'NON'})`, (w) => {
      const r: Req = { id: w.reqs.length, op: -1, confirmable: con, token: undefined, mid: undefined, settled: undefined, outcome: undefined };
      w.reqs.push(r);
      r.op = w.ep.request({ confirmable: con, code: 1, options: [], payload: new Uint8Array(0), label: `GET /r${r.id}` }, w.now);
    }),
  ),
  fc.nat().map((i) =>
    cmd(`piggybackedAck(${i})`, (w) => {
      const r = pick(w.sent(), i);
      if (r !== undefined) w.deliver({ type: 'ACK', code: 0x45, messageId: r.mid!, token: Buffer.from(r.token!, 'hex') });
    }),
  ),
  fc.nat().map((i) =>
    cmd(`emptyAck(${i})`, (w) => {
      const r = pick(w.sent(), i);
      if (r !== undefined) w.deliver({ type: 'ACK', code: 0, messageId: r.mid!, token: new Uint8Array(0) });
    }),
  ),
  fc.tuple(fc.nat(), fc.boolean()).map(([i, con]) =>
    cmd(`separateResponse(${i}, ${con ? 'CON' : 'NON'})`, (w) => {
      const r = pick(w.sent(), i);
      if (r !== undefined) w.deliver({ type: con ? 'CON' : 'NON', code: 0x45, messageId: w.serverMid(), token: Buffer.from(r.token!, 'hex') });
    }),
  ),
  fc.nat().map((i) =>
    cmd(`rst(${i})`, (w) => {
      const r = pick(w.sent(), i);
      if (r !== undefined) w.deliver({ type: 'RST', code: 0, messageId: r.mid!, token: new Uint8Array(0) });
    }),
  ),
  fc.nat().map((i) =>
    cmd(`duplicate(${i})`, (w) => {
      const b = pick(w.delivered, i);
      if (b !== undefined) w.deliverRaw(b);
    }),
  ),
  fc.integer({ min: 0, max: 0xffff }).map((mid) =>
    cmd(`strayAckOrRst(${mid})`, (w) => w.deliver({ type: mid % 2 === 0 ? 'ACK' : 'RST', code: 0, messageId: mid, token: new Uint8Array(0) })),
  ),
  fc.constant(
    cmd('listen', (w) => {
      const token = w.ep.newToken();
      w.listenTokens.push(token);
      w.ep.listen(token);
    }),
  ),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xffffff }), fc.boolean()).map(([i, seq, con]) =>
    cmd(`notify(${i}, obs ${seq}, ${con ? 'CON' : 'NON'})`, (w) => {
      const token = pick(w.listenTokens, i) ?? new Uint8Array([9, 9, 9, 9]); // unknown token: must be RST (RFC 7641 §3.6)
      const obs = seq === 0 ? new Uint8Array(0) : new Uint8Array([seq >> 16, (seq >> 8) & 0xff, seq & 0xff].filter((_, k) => k > 0 || seq > 0xffff));
      w.deliver({ type: con ? 'CON' : 'NON', code: 0x45, messageId: w.serverMid(), token, options: [{ number: 6, value: obs }] });
    }),
  ),
  fc.nat().map((i) =>
    cmd(`abort(${i})`, (w) => {
      const r = pick(w.reqs.filter((x) => x.settled === undefined), i);
      if (r !== undefined) w.ep.abort(r.op, 'fuzz', w.now);
    }),
  ),
  fc.uint8Array({ minLength: 0, maxLength: 24 }).map((b) => cmd(`garbage(${hex(b)})`, (w) => w.deliverRaw(b))),
  fc.integer({ min: 0, max: 150_000 }).map((ms) => cmd(`advance(${ms})`, (w) => w.advance(ms))),
];

describe('CoAP endpoint: stateful fuzzing (fast-check commands)', () => {
  it('keeps its invariants after every step, and settles everything once time passes', () => {
    fc.assert(
      fc.property(fc.integer(), fc.commands(commands, { maxCommands: 60, size: 'max' }), (seed, cmds) => {
        const w = new World(seed);
        fc.modelRun(() => ({ model: {}, real: w }), cmds);
        // Whatever happened, time settles every request: nothing hangs, no timer is left. NSTART 1
        // (RFC 7252 §4.7) serializes them, a NON one included until its response timeout, so
        // allow each its MAX_TRANSMIT_WAIT (plus a response timeout after a late empty ACK).
        w.advance((w.reqs.length + 1) * 2 * timing.maxTransmitWait + timing.exchangeLifetime);
        w.check();
        expect(w.reqs.filter((r) => r.settled === undefined)).toEqual([]);
        expect(w.ep.pending).toBe(0);
        expect(w.ep.nextDeadline()).toBeUndefined(); // no timer left
        for (const r of w.reqs) expect(['69', 'TIMEOUT', 'RESET', 'ABORTED', 'MALFORMED']).toContain(r.outcome);
        // After the lifetime, one more datagram sweeps the dedup tables down to itself.
        w.deliver({ type: 'NON', code: 0x45, messageId: w.serverMid(), token: new Uint8Array([7]) });
        expect(w.ep.tracked().seenCon).toBe(0);
        expect(w.ep.tracked().seenNon).toBe(1);
        w.ep.close(undefined, w.now);
      }),
      { numRuns: Number(process.env["FUZZ_RUNS"] ?? 150) },
    );
  });
});

describe('CoAP observe: notifications in any order (RFC 7641 §3.4)', () => {
  const W = 2 ** 23;
  const fresher = (v2: number, v1: number): boolean => (v1 < v2 && v2 - v1 < W) || (v1 > v2 && v1 - v2 > W);

  it('yields exactly the notifications fresher than every one before them, the newest maxQueue of them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 24 - 1 }),
        fc.array(fc.record({ delta: fc.integer({ min: -50, max: 50 }), dupMid: fc.boolean() }), { maxLength: 40, size: 'max' }),
        fc.integer({ min: 1, max: 8 }),
        async (base, steps, maxQueue) => {
          const clock = new ManualClock();
          const link = new FakeLink();
          const client = await connectCoap('coap://127.0.0.1', { insecure: true, transport: link.binder, clock, random: () => 0, maxQueuedNotifications: maxQueue });
          const obs = client.observe('/t');
          const first = obs.next();
          await flush();
          const reg = link.last();
          const seq = (v: number): Uint8Array => { const b = Buffer.alloc(3); b.writeUIntBE(v, 0, 3); return b; };
          link.reply({ type: 'ACK', code: 0x45, messageId: reg.messageId, token: reg.token, payload: Buffer.from(String(base)), options: [{ number: CoapOptionNumber.Observe, value: seq(base) }] });
          expect((await first).value?.text()).toBe(String(base));
          let freshest = base;
          const expected: string[] = [];
          let mid = 1000;
          for (const s of steps) {
            const v = (((base + s.delta) % 2 ** 24) + 2 ** 24) % 2 ** 24;
            // a repeated message id is a duplicate: dropped by the message layer (RFC 7252 §4.5)
            const isDup = s.dupMid && mid > 1000;
            if (!isDup) mid++;
            link.reply({ type: 'NON', code: 0x45, messageId: mid, token: reg.token, payload: Buffer.from(String(v)), options: [{ number: CoapOptionNumber.Observe, value: seq(v) }] });
            if (!isDup && fresher(v, freshest)) {
              freshest = v;
              expected.push(String(v));
            }
            base = v;
          }
          await flush();
          const kept = expected.slice(-maxQueue);
          const got: string[] = [];
          for (let i = 0; i < kept.length; i++) {
            const n = await Promise.race([obs.next(), flush().then(() => undefined)]);
            if (n === undefined) break; // nothing more queued: the comparison below shows what is missing
            got.push(n.value!.text());
          }
          expect(got).toEqual(kept);
          const bye = obs.return(); // deregisters with a CON the fake server never answers:
          await client.close(); // closing fails it, and the loop ends
          expect((await bye).done).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });
});
