// Session fuzzing of the reference shadow service: random sequences of updates, gets and deletes
// on a few shadows (classic and named), with version checks, bursts past the per-shadow in-flight
// limit, hostile payloads (garbage, nesting past the depth limit, wrong types, "__proto__" and
// "constructor" keys), and the clock moved across the 48 h tombstone window — checked against an
// independent model of AWS shadow semantics (a plain recursive merge, versions, tombstones):
//   - every request is answered exactly once on its own accepted/rejected topic, with its clientToken;
//   - accepted and rejected exactly as the model says, with the model's version;
//   - a get returns the model's desired and reported state;
//   - a hostile request is refused with a 4xx and changes nothing; no 5xx, no service error;
//   - with the file store, the documents read back after a reopen equal the model.
// The broker is an in-memory MqttLike (the service's MQTT boundary): the sessions are about the
// service's ordering, limits and state; the broker path is in service.mosquitto.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { MemoryShadowStore, openFileShadowStore, startShadowService, type MqttLike, type ShadowStore } from '../src/index.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

class MemoryMqtt implements MqttLike {
  readonly out: Array<{ topic: string; payload: string }> = [];
  #message: Array<(topic: string, payload: Buffer, packet: object) => void> = [];
  publish(topic: string, payload: string | Uint8Array, _o?: unknown, cb?: (err?: Error | null) => void): void {
    this.out.push({ topic, payload: typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8') });
    if (cb) queueMicrotask(() => cb(null));
  }
  subscribe(_f: string | string[], _o?: unknown, cb?: (err: Error | null) => void): void { if (cb) queueMicrotask(() => cb(null)); }
  on(event: 'message' | 'connect', listener: (...args: never[]) => void): void {
    if (event === 'message') this.#message.push(listener as (topic: string, payload: Buffer, packet: object) => void);
  }
  removeListener(_e: string, listener: (...args: never[]) => void): void { this.#message = this.#message.filter((l) => l !== listener); }
  readonly connected = true;
  deliver(topic: string, payload: string | Uint8Array): void {
    for (const l of this.#message) l(topic, Buffer.from(payload), { topic });
  }
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const own = (o: Obj, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const put = (o: Obj, k: string, v: Json): void => { Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true }); };
const copy = (v: Json): Json => (Array.isArray(v) ? v.map(copy) : isObj(v) ? Object.entries(v).reduce<Obj>((o, [k, x]) => (put(o, k, copy(x)), o), {}) : v);

/** AWS's merge of a state section: null deletes a key, objects merge, anything else replaces. */
function merge(target: Obj, patch: Obj): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else if (isObj(v)) {
      const t: Obj = own(target, k) && isObj(target[k]) ? (target[k] as Obj) : {};
      put(target, k, t);
      merge(t, v);
    } else put(target, k, copy(v));
  }
}

interface Model { version: number; deleted: boolean; deletedAt: number; exists: boolean; desired: Obj | undefined; reported: Obj | undefined }
const TTL_MS = 48 * 3600 * 1000;

// ---- generators ----
const key = fc.constantFrom('a', 'b', 'c', 'temp', '__proto__', 'constructor', 'ünï');
const leaf: fc.Arbitrary<Json> = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null), fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3 }));
const patch: fc.Arbitrary<Obj> = fc.letrec<{ obj: Obj; val: Json }>((tie) => ({
  obj: fc.array(fc.tuple(key, tie('val')), { maxLength: 4 }).map((pairs) => pairs.reduce<Obj>((o, [k, v]) => (put(o, k, v), o), {})),
  val: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, leaf, tie('obj')),
})).obj.filter((o) => depth(o) <= 4);
function depth(v: Json): number {
  return isObj(v) ? 1 + Math.max(0, ...Object.values(v).map(depth)) : Array.isArray(v) ? 1 + Math.max(0, ...v.map(depth)) : 0;
}
const section = fc.oneof(fc.constant<'absent'>('absent'), fc.constant(null), patch);
const versionChoice = fc.constantFrom<'none' | 'current' | 'wrong'>('none', 'none', 'current', 'wrong');
const shadowIdx = fc.nat(2);
const hostileKind = fc.constantFrom('garbage', 'deep', 'state-array', 'desired-string', 'version-string', 'version-negative', 'version-fraction', 'token-long', 'token-number', 'no-state', 'not-object', 'huge', 'bad-utf8');

type Op =
  | { k: 'update'; s: number; desired: Obj | null | 'absent'; reported: Obj | null | 'absent'; v: 'none' | 'current' | 'wrong' }
  | { k: 'get'; s: number }
  | { k: 'delete'; s: number; v: 'none' | 'current' | 'wrong' }
  | { k: 'hostile'; s: number; op: 'update' | 'get' | 'delete'; kind: string; seed: Uint8Array }
  | { k: 'burst'; s: number; n: number; desired: Obj }
  | { k: 'clock'; hours: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('update' as const), s: shadowIdx, desired: section, reported: section, v: versionChoice }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('get' as const), s: shadowIdx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delete' as const), s: shadowIdx, v: versionChoice }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('hostile' as const), s: shadowIdx, op: fc.constantFrom('update' as const, 'get' as const, 'delete' as const), kind: hostileKind, seed: fc.uint8Array({ maxLength: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('burst' as const), s: shadowIdx, n: fc.integer({ min: 2, max: 14 }), desired: patch }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('clock' as const), hours: fc.integer({ min: 1, max: 60 }) }) },
);

const SHADOWS = [{ thingName: 'dev-1' }, { thingName: 'dev-1', shadowName: 'cfg' }, { thingName: 'dev-2' }] as const;
const prefixOf = (s: number): string => {
  const sh = SHADOWS[s]!;
  return 'shadowName' in sh ? `$aws/things/${sh.thingName}/shadow/name/${sh.shadowName}` : `$aws/things/${sh.thingName}/shadow`;
};

function hostileBody(kind: string, seed: Uint8Array, token: string): string | Uint8Array {
  switch (kind) {
    case 'garbage': return seed;
    case 'deep': { let d = '1'; for (let i = 0; i < 9; i++) d = `{"x":${d}}`; return `{"state":{"desired":${d}},"clientToken":"${token}"}`; }
    case 'state-array': return JSON.stringify({ state: [1, 2], clientToken: token });
    case 'desired-string': return JSON.stringify({ state: { desired: 'on' }, clientToken: token });
    case 'version-string': return JSON.stringify({ state: { desired: { a: 1 } }, version: '1', clientToken: token });
    case 'version-negative': return JSON.stringify({ state: { desired: { a: 1 } }, version: -1, clientToken: token });
    case 'version-fraction': return JSON.stringify({ state: { desired: { a: 1 } }, version: 1.5, clientToken: token });
    case 'token-long': return JSON.stringify({ state: { desired: { a: 1 } }, clientToken: 'x'.repeat(65) });
    case 'token-number': return JSON.stringify({ state: { desired: { a: 1 } }, clientToken: 12 });
    case 'no-state': return JSON.stringify({ clientToken: token, desired: { a: 1 } });
    case 'not-object': return JSON.stringify([{ state: { desired: { a: 1 } } }]);
    case 'huge': return JSON.stringify({ state: { desired: { a: 'y'.repeat(140 * 1024) } }, clientToken: token });
    default: return Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]); // {"\xff\xfe":1}
  }
}

const roots: string[] = [];
afterAll(() => { for (const r of roots) rmSync(r, { recursive: true, force: true }); });

async function runSession(ops: readonly Op[], fileStore: boolean): Promise<void> {
  const mqtt = new MemoryMqtt();
  let now = 1_800_000_000_000;
  const dir = fileStore ? mkdtempSync(join(tmpdir(), 'outpost-shadow-fuzz-')) : '';
  if (fileStore) roots.push(dir);
  let store: ShadowStore = fileStore ? await openFileShadowStore({ dir }) : new MemoryShadowStore();
  const errors: Error[] = [];
  const service = await startShadowService({ mqtt, store, now: () => now, onError: (e) => errors.push(e) });
  const model: Model[] = SHADOWS.map(() => ({ version: 0, deleted: false, deletedAt: 0, exists: false, desired: undefined, reported: undefined }));
  let seq = 0;

  /** Sends, waits for the service, returns the accepted/rejected answers of each request in order. */
  const exchange = async (s: number, op: string, bodies: Array<string | Uint8Array>, tokens: Array<string | undefined>): Promise<Array<{ ok: boolean; doc: Record<string, unknown> }>> => {
    const from = mqtt.out.length;
    for (const b of bodies) mqtt.deliver(`${prefixOf(s)}/${op}`, b);
    await service.idle();
    const answers = mqtt.out.slice(from).filter((m) => m.topic === `${prefixOf(s)}/${op}/accepted` || m.topic === `${prefixOf(s)}/${op}/rejected`);
    expect(answers.length, `answers to ${bodies.length} ${op} request(s)`).toBe(bodies.length);
    return tokens.map((tok, i) => {
      const a = tok === undefined ? answers[i]! : answers.find((m) => (JSON.parse(m.payload) as { clientToken?: string }).clientToken === tok);
      expect(a, `the answer with clientToken ${tok}`).toBeDefined();
      return { ok: a!.topic.endsWith('/accepted'), doc: JSON.parse(a!.payload) as Record<string, unknown> };
    });
  };
  const live = (m: Model): boolean => m.exists && !m.deleted;
  /** The version an update starts from: the tombstone's unless it expired. */
  const base = (m: Model): number => (m.deleted && now - m.deletedAt >= TTL_MS ? 0 : m.version);

  const applyModel = (m: Model, desired: Obj | null | 'absent', reported: Obj | null | 'absent'): void => {
    const wasLive = live(m);
    m.version = base(m) + 1;
    if (!wasLive) { m.desired = undefined; m.reported = undefined; }
    m.exists = true;
    m.deleted = false;
    for (const [name, p] of [['desired', desired], ['reported', reported]] as const) {
      if (p === 'absent') continue;
      if (p === null) { m[name] = undefined; continue; }
      const t: Obj = m[name] === undefined ? {} : (copy(m[name]!) as Obj);
      merge(t, p);
      m[name] = t;
    }
  };

  for (const op of ops) {
    if (op.k === 'clock') { now += op.hours * 3600 * 1000; continue; }
    const m = model[op.s]!;
    const token = `c${++seq}`;
    if (op.k === 'update') {
      if (op.desired === 'absent' && op.reported === 'absent') continue; // not an update at all (a hostile case covers it)
      const state: Obj = {};
      if (op.desired !== 'absent') put(state, 'desired', op.desired);
      if (op.reported !== 'absent') put(state, 'reported', op.reported);
      const version = op.v === 'current' ? base(m) : op.v === 'wrong' ? base(m) + 7 : undefined;
      const body = JSON.stringify({ state, clientToken: token, ...(version === undefined ? {} : { version }) });
      const [a] = await exchange(op.s, 'update', [body], [token]);
      if (op.v === 'wrong') {
        expect(a!.ok, `update with a wrong version: ${JSON.stringify(a!.doc)}`).toBe(false);
        expect(a!.doc['code']).toBe(409);
      } else {
        expect(a!.ok, `update ${body} refused: ${JSON.stringify(a!.doc)}`).toBe(true);
        applyModel(m, op.desired, op.reported);
        expect(a!.doc['version']).toBe(m.version);
      }
    } else if (op.k === 'get') {
      const [a] = await exchange(op.s, 'get', [JSON.stringify({ clientToken: token })], [token]);
      expect(a!.ok).toBe(live(m));
      if (!live(m)) { expect(a!.doc['code']).toBe(404); continue; }
      const st = a!.doc['state'] as { desired?: Obj; reported?: Obj };
      expect(st.desired).toEqual(m.desired);
      expect(st.reported).toEqual(m.reported);
      expect(a!.doc['version']).toBe(m.version);
    } else if (op.k === 'delete') {
      const version = op.v === 'current' ? m.version : op.v === 'wrong' ? m.version + 7 : undefined;
      const [a] = await exchange(op.s, 'delete', [JSON.stringify({ clientToken: token, ...(version === undefined ? {} : { version }) })], [token]);
      if (!live(m)) { expect(a!.ok).toBe(false); expect(a!.doc['code']).toBe(404); continue; }
      if (op.v === 'wrong') { expect(a!.ok).toBe(false); expect(a!.doc['code']).toBe(409); continue; }
      expect(a!.ok, JSON.stringify(a!.doc)).toBe(true);
      expect(a!.doc['version']).toBe(m.version);
      m.deleted = true;
      m.deletedAt = now;
    } else if (op.k === 'hostile') {
      const body = hostileBody(op.kind, op.seed, token);
      const echoes = !['garbage', 'token-long', 'token-number', 'not-object', 'bad-utf8', 'huge'].includes(op.kind); // an unread body has no token to echo
      const [a] = await exchange(op.s, op.op, [body], [echoes ? token : undefined]);
      // A get or delete ignores fields it does not use, so some of these are fine for them.
      // An empty payload is how AWS's get and delete are usually sent.
      const harmless = op.op !== 'update' && (['deep', 'state-array', 'desired-string', 'version-string', 'version-fraction', 'version-negative', 'no-state'].includes(op.kind) || (op.kind === 'garbage' && op.seed.length === 0))
        && !(op.op === 'delete' && op.kind.startsWith('version'));
      if (!a!.ok) {
        const code = a!.doc['code'] as number;
        expect(code >= 400 && code < 500, `a ${op.kind} ${op.op} answered ${code}`).toBe(true);
        if (op.op !== 'update' && harmless && live(m)) throw new Error(`a harmless ${op.kind} ${op.op} was refused: ${JSON.stringify(a!.doc)}`);
        continue;
      }
      expect(op.op === 'update' ? false : harmless || !['garbage', 'not-object', 'bad-utf8', 'huge', 'token-long', 'token-number'].includes(op.kind), `a hostile ${op.kind} ${op.op} was accepted`).toBe(true);
      expect(live(m)).toBe(true);
      if (op.op === 'delete') { m.deleted = true; m.deletedAt = now; }
    } else {
      // A burst: n updates of one shadow handed over in one go; the first 10 are queued, the rest 429.
      const tokens = Array.from({ length: op.n }, (_, i) => `${token}-${i}`);
      const answers = await exchange(op.s, 'update', tokens.map((t) => JSON.stringify({ state: { desired: op.desired }, clientToken: t })), tokens);
      answers.forEach((a, i) => {
        if (i < 10) {
          expect(a.ok, JSON.stringify(a.doc)).toBe(true);
          applyModel(m, op.desired, 'absent');
          expect(a.doc['version']).toBe(m.version);
        } else {
          expect(a.ok).toBe(false);
          expect(a.doc['code']).toBe(429);
        }
      });
    }
  }

  await service.close();
  expect(errors, 'service errors').toEqual([]);
  const stats = service.stats();
  expect(stats.errors).toBe(0);
  if (fileStore) {
    await store.close();
    store = await openFileShadowStore({ dir });
  }
  for (const [i, sh] of SHADOWS.entries()) {
    const r = await store.get(sh);
    const m = model[i]!;
    if (!m.exists) { expect(r).toBeUndefined(); continue; }
    expect(r?.version).toBe(m.version);
    expect(r?.deleted === true).toBe(m.deleted);
    if (!m.deleted) {
      expect(r?.state.desired).toEqual(m.desired);
      expect(r?.state.reported).toEqual(m.reported);
    }
  }
  await store.close();
}

describe('shadow service session fuzz', () => {
  const seed = Number(process.env['FUZZ_SEED'] ?? 20261207);
  test('memory store: random sessions follow the model, answer once, refuse hostile requests without harm', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => runSession(ops, false)), { numRuns: 300, seed, endOnFailure: true });
  }, 120_000);
  test('file store: the same, and the documents read back after a reopen equal the model', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), (ops) => runSession(ops, true)), { numRuns: 40, seed: seed + 1, endOnFailure: true });
  }, 120_000);
});
