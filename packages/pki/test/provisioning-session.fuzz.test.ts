// Session fuzzing of the provisioning service: random sequences of requests as hostile claims
// would send them — valid and mutated CSRs, replayed, forged and cross-device ownership tokens,
// wrong types in every field, garbage JSON/CBOR, unknown templates, bursts of concurrent requests
// for the same id or the same token — checked against a model of what may be accepted:
//   - every request gets exactly one answer, on its own topic's /accepted or /rejected;
//   - a certificate is issued only for an allowed id, with the CSR's CN and key;
//   - a RegisterThing is accepted only with an unused token from a certificate that is still the
//     id's current one, the template's thing-name parameter equal to that id, and at most once
//     per id;
//   - no id ever holds two usable certificates, and the registry on disk says the same after a reopen;
//   - the service still provisions a fresh device at the end of every session.
// The broker is replaced by an in-memory client (the service's MQTT boundary, ProvisioningMqttClient):
// the sessions are about the service's state, and thousands of requests through Mosquitto would be
// minutes; the broker path is covered by provisioning.mosquitto.test.ts.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as cborEncode, decode as cborDecode } from 'cbor-x';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDeviceCsr } from '@outpost/device-sdk';
import { initCaDir, openCaDir, startProvisioningService, type CaDir, type ProvisioningMqttClient } from '@outpost/pki';

type Listener = (topic: string, payload: Buffer) => void;

/** The service's MQTT boundary in memory: requests in, answers recorded. */
class MemoryClient implements ProvisioningMqttClient {
  readonly answers: Array<{ topic: string; payload: Buffer }> = [];
  #listeners = new Set<Listener>();
  #waiters: Array<() => void> = [];
  subscribe(_f: string[], _o: { qos: 0 | 1 }, cb: (err: Error | null) => void): void { queueMicrotask(() => cb(null)); }
  unsubscribe(_f: string[], cb: (err?: Error) => void): void { queueMicrotask(() => cb()); }
  publish(topic: string, payload: Buffer, _o: { qos: 0 | 1 }, cb: (err?: Error) => void): void {
    this.answers.push({ topic, payload: Buffer.from(payload) });
    for (const w of this.#waiters.splice(0)) w();
    queueMicrotask(() => cb());
  }
  on(_e: 'message', l: Listener): void { this.#listeners.add(l); }
  removeListener(_e: 'message', l: Listener): void { this.#listeners.delete(l); }
  deliver(topic: string, payload: Uint8Array): void {
    for (const l of this.#listeners) l(topic, Buffer.from(payload));
  }
  async until(count: number): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (this.answers.length < count) {
      if (Date.now() > deadline) throw new Error(`waited for ${count} answers, have ${this.answers.length}`);
      await new Promise<void>((resolve) => { this.#waiters.push(resolve); setTimeout(resolve, 50); });
    }
  }
}

const TEMPLATE = 'factory';
const POOL = 6; // device ids per session (small, so sessions collide on ids and tokens)
const CSR_TOPIC = (f: Fmt): string => `$aws/certificates/create-from-csr/${f}`;
const REG_TOPIC = (tpl: string, f: Fmt): string => `$aws/provisioning-templates/${tpl}/provision/${f}`;
type Fmt = 'json' | 'cbor';

const encode = (f: Fmt, v: unknown): Uint8Array => (f === 'json' ? new TextEncoder().encode(JSON.stringify(v)) : cborEncode(v));
const decode = (f: Fmt, b: Buffer): Record<string, unknown> => (f === 'json' ? JSON.parse(b.toString('utf8')) : cborDecode(b)) as Record<string, unknown>;

// The operations a session draws. Indices pick from the session's pools.
type Op =
  | { k: 'create'; dev: number; fmt: Fmt; csr: 'own' | 'other' | 'flip' | 'truncate' | 'number' | 'missing' | 'huge'; flipAt: number }
  | { k: 'register'; fmt: Fmt; token: 'fresh' | 'used' | 'forged' | 'number' | 'missing'; pick: number; param: 'match' | 'other' | 'missing' | 'array' | 'proto'; tpl: 'ok' | 'unknown' }
  | { k: 'garbage'; fmt: Fmt; where: 'create' | 'register' | 'create-keys'; bytes: Uint8Array }
  | { k: 'burst-create'; dev: number; n: number }
  | { k: 'burst-register'; pick: number; n: number };

const fmt = fc.constantFrom<Fmt>('json', 'cbor');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('create' as const), dev: fc.nat(POOL), fmt, csr: fc.constantFrom('own', 'own', 'own', 'other', 'flip', 'truncate', 'number', 'missing', 'huge'), flipAt: fc.nat(2000) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('register' as const), fmt, token: fc.constantFrom('fresh', 'fresh', 'used', 'forged', 'number', 'missing'), pick: fc.nat(50), param: fc.constantFrom('match', 'match', 'other', 'missing', 'array', 'proto'), tpl: fc.constantFrom('ok', 'ok', 'ok', 'unknown') }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('garbage' as const), fmt, where: fc.constantFrom('create', 'register', 'create-keys'), bytes: fc.uint8Array({ maxLength: 300 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('burst-create' as const), dev: fc.nat(POOL), n: fc.integer({ min: 2, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('burst-register' as const), pick: fc.nat(50), n: fc.integer({ min: 2, max: 4 }) }) },
);

let root: string;
const csrCache = new Map<string, string[]>();
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'outpost-prov-fuzz-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A few CSRs per device id (a device may ask again with a new key), made once per id. */
async function csrFor(id: string, n: number): Promise<string> {
  let list = csrCache.get(id);
  if (list === undefined) csrCache.set(id, (list = []));
  while (list.length <= n) list.push((await createDeviceCsr(id)).csrPem);
  return list[n]!;
}

/** Whether a certificate certifies the key of a CSR. */
async function sameKey(certPem: string, csrPem: string): Promise<boolean> {
  const { Pkcs10CertificateRequest } = await import('@peculiar/x509');
  const spki = Buffer.from(new Pkcs10CertificateRequest(csrPem).publicKey.rawData).toString('hex');
  return new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' }).toString('hex') === spki;
}

interface Issued { deviceId: string; token: string; certificateId: string; spki: string }

let sessionNo = 0;

async function runSession(ops: readonly Op[]): Promise<void> {
  const s = ++sessionNo;
  const dir = join(root, `s${s}`);
  const ca: CaDir = await initCaDir(join(dir, 'ca'), { commonName: 'Fuzz CA' });
  const ids = Array.from({ length: POOL + 1 }, (_, i) => (i === POOL ? `blocked-${s}` : `ok-${s}-${i}`)); // the last one is not allowed
  const client = new MemoryClient();
  const service = await startProvisioningService({
    client, ca, templates: { [TEMPLATE]: {} }, allow: (r) => r.deviceId.startsWith('ok-'),
    createRateLimit: { ratePerSecond: 1_000_000, burst: 1_000_000 }, registerRateLimit: { ratePerSecond: 1_000_000, burst: 1_000_000 },
  });
  let sent = 0;
  let csrUses = 0;
  const issued: Issued[] = [];
  const used = new Set<string>(); // tokens accepted by RegisterThing
  const registered = new Set<string>(); // ids registered
  const currentCert = new Map<string, string>(); // id → certificateId of its latest accepted create

  const request = (topic: string, body: Uint8Array): number => {
    client.deliver(topic, body);
    return sent++;
  };
  /** Sends requests, waits for all answers, returns them in the order of their clientTokens. */
  const exchange = async (reqs: Array<{ topic: string; fmt: Fmt; body: Record<string, unknown> | Uint8Array }>): Promise<Array<{ ok: boolean; body: Record<string, unknown> } | undefined>> => {
    const before = client.answers.length;
    const tokens = reqs.map((r, i) => {
      const token = `t${s}-${sent + i}`;
      request(r.topic, r.body instanceof Uint8Array ? r.body : encode(r.fmt, { ...r.body, clientToken: token }));
      return r.body instanceof Uint8Array ? undefined : token;
    });
    await client.until(before + reqs.length);
    const fresh = client.answers.slice(before);
    expect(fresh.length).toBe(reqs.length); // exactly one answer per request, none spare
    return reqs.map((r, i) => {
      const ans = tokens[i] === undefined
        ? fresh.find((a) => a.topic.startsWith(`${r.topic}/`))
        : fresh.find((a) => a.topic.startsWith(`${r.topic}/`) && decode(r.fmt, a.payload)['clientToken'] === tokens[i]);
      expect(ans, `an answer on ${r.topic}/…`).toBeDefined();
      expect(ans!.topic === `${r.topic}/accepted` || ans!.topic === `${r.topic}/rejected`).toBe(true);
      if (r.fmt === 'json' && !(r.body instanceof Uint8Array)) JSON.parse(ans!.payload.toString('utf8'));
      return ans === undefined ? undefined : { ok: ans.topic.endsWith('/accepted'), body: decode(r.fmt, ans.payload) };
    });
  };

  const checkCreate = (deviceId: string, csrPem: string | undefined, a: { ok: boolean; body: Record<string, unknown> } | undefined): void => {
    if (a === undefined) return;
    if (!a.ok) {
      expect(typeof a.body['statusCode']).toBe('number');
      expect(typeof a.body['errorCode']).toBe('string');
      return;
    }
    expect(deviceId.startsWith('ok-'), `a certificate was issued for "${deviceId}", which the hook refuses`).toBe(true);
    expect(csrPem).toBeDefined();
    const cert = new X509Certificate(String(a.body['certificatePem']));
    expect(cert.subject).toBe(`CN=${deviceId}`);
    expect(registered.has(deviceId), `"${deviceId}" was provisioned twice`).toBe(false);
    const spki = cert.publicKey.export({ type: 'spki', format: 'der' }).toString('hex');
    expect(issued.some((i) => i.spki === spki), 'one key certified twice').toBe(false);
    issued.push({ deviceId, token: String(a.body['certificateOwnershipToken']), certificateId: String(a.body['certificateId']), spki });
    currentCert.set(deviceId, String(a.body['certificateId']));
  };

  const checkRegister = (token: string | undefined, param: string | undefined, tplOk: boolean, a: { ok: boolean; body: Record<string, unknown> } | undefined): void => {
    if (a === undefined || !a.ok) return;
    const it = issued.find((i) => i.token === token);
    expect(it, 'RegisterThing accepted a token the service never issued').toBeDefined();
    expect(tplOk).toBe(true);
    expect(used.has(token!), 'an ownership token was accepted twice').toBe(false);
    expect(currentCert.get(it!.deviceId), 'a replaced (revoked) certificate was registered').toBe(it!.certificateId);
    expect(param).toBe(it!.deviceId);
    expect(registered.has(it!.deviceId), `"${it!.deviceId}" registered twice`).toBe(false);
    expect(a.body['thingName']).toBe(it!.deviceId);
    used.add(token!);
    registered.add(it!.deviceId);
  };

  const createBody = async (op: Extract<Op, { k: 'create' }>): Promise<{ id: string; csr: string | undefined; body: Record<string, unknown> }> => {
    const id = ids[op.dev % ids.length]!;
    const own = await csrFor(id, csrUses++ % 3);
    switch (op.csr) {
      case 'own': return { id, csr: own, body: { certificateSigningRequest: own } };
      case 'other': return { id, csr: undefined, body: { certificateSigningRequest: await csrFor(ids[(op.dev + 1) % ids.length]!, 0), deviceId: id } };
      case 'flip': {
        // One byte of the DER changed (a flip in the PEM text could land on base64 padding bits).
        const der = Buffer.from(own.replace(/-----[^-]+-----|\s/g, ''), 'base64');
        const at = op.flipAt % der.length;
        der[at] = der[at]! ^ (1 << (op.flipAt % 8));
        const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE REQUEST-----\n`;
        return { id, csr: own, body: { certificateSigningRequest: pem } };
      }
      case 'truncate': return { id, csr: undefined, body: { certificateSigningRequest: own.slice(0, own.length / 2) } };
      case 'number': return { id, csr: undefined, body: { certificateSigningRequest: 42 } };
      case 'missing': return { id, csr: undefined, body: {} };
      case 'huge': return { id, csr: undefined, body: { certificateSigningRequest: own + 'A'.repeat(10_000) } };
    }
  };

  for (const op of ops) {
    if (op.k === 'create') {
      const { id, csr, body } = await createBody(op);
      const [a] = await exchange([{ topic: CSR_TOPIC(op.fmt), fmt: op.fmt, body }]);
      // 'other': the certificate is for the CSR's CN (another id), never for the id the body names.
      const issuedFor = op.csr === 'other' ? ids[(op.dev + 1) % ids.length]! : id;
      if (a?.ok && op.csr !== 'own' && op.csr !== 'other' && op.csr !== 'flip') throw new Error(`a ${op.csr} CSR was accepted`);
      // A changed CSR may pass only as a different encoding of the same request: same CN, same key.
      if (a?.ok && op.csr === 'flip') expect(await sameKey(String(a.body['certificatePem']), csr!), 'a tampered CSR was certified').toBe(true);
      checkCreate(issuedFor, op.csr === 'other' ? 'x' : csr, a);
    } else if (op.k === 'register') {
      const pool = op.token === 'used' ? issued.filter((i) => used.has(i.token)) : issued.filter((i) => !used.has(i.token));
      const it = pool.length === 0 ? undefined : pool[op.pick % pool.length];
      const token = op.token === 'forged' ? 'A'.repeat(43) : op.token === 'number' ? 7 : op.token === 'missing' ? undefined : it?.token;
      const other = ids[(ids.indexOf(it?.deviceId ?? ids[0]!) + 1) % ids.length]!;
      const parameters = op.param === 'match' ? { SerialNumber: it?.deviceId ?? ids[0]! } : op.param === 'other' ? { SerialNumber: other } : op.param === 'missing' ? undefined : op.param === 'array' ? [it?.deviceId] : JSON.parse(`{"__proto__":{"SerialNumber":"${it?.deviceId ?? ids[0]!}"}}`);
      const tpl = op.tpl === 'ok' ? TEMPLATE : 'nope';
      const body: Record<string, unknown> = { ...(token === undefined ? {} : { certificateOwnershipToken: token }), ...(parameters === undefined ? {} : { parameters }) };
      const [a] = await exchange([{ topic: REG_TOPIC(tpl, op.fmt), fmt: op.fmt, body }]);
      checkRegister(typeof token === 'string' ? token : undefined, op.param === 'match' ? it?.deviceId ?? ids[0]! : op.param === 'other' ? other : undefined, op.tpl === 'ok', a);
    } else if (op.k === 'garbage') {
      const topic = op.where === 'create' ? CSR_TOPIC(op.fmt) : op.where === 'register' ? REG_TOPIC(TEMPLATE, op.fmt) : `$aws/certificates/create/${op.fmt}`;
      const [a] = await exchange([{ topic, fmt: op.fmt, body: op.bytes }]);
      // Random bytes can be a valid document only by luck; they never carry a CSR or a token the service made.
      expect(a?.ok).toBe(false);
    } else if (op.k === 'burst-create') {
      // Concurrent creates for one id (a claim used from several devices at once): each with its own key.
      const id = ids[op.dev % ids.length]!;
      const pems = await Promise.all(Array.from({ length: op.n }, () => createDeviceCsr(id).then((c) => c.csrPem)));
      const answers = await exchange(pems.map((p) => ({ topic: CSR_TOPIC('json'), fmt: 'json' as Fmt, body: { certificateSigningRequest: p } })));
      // Each accepted one replaces the previous pending certificate in commit order, which is
      // neither the order they were sent nor the order of the answers (a replacing one rewrites
      // the CRL before it answers): the registry names the survivor, which must be one of them.
      answers.forEach((a) => checkCreate(id, 'x', a));
      const accepted = answers.filter((a) => a?.ok).map((a) => String(a!.body['certificateId']));
      if (accepted.length > 0) {
        const cur = ca.devices().find((d) => d.deviceId === id)!.current.fingerprint.replaceAll(':', '').toLowerCase();
        expect(accepted).toContain(cur);
        currentCert.set(id, cur);
      }
    } else {
      // Concurrent RegisterThing with one token: at most one may win.
      const pool = issued.filter((i) => !used.has(i.token));
      const it = pool.length === 0 ? undefined : pool[op.pick % pool.length];
      if (it === undefined) continue;
      const answers = await exchange(Array.from({ length: op.n }, () => ({ topic: REG_TOPIC(TEMPLATE, 'json'), fmt: 'json' as Fmt, body: { certificateOwnershipToken: it.token, parameters: { SerialNumber: it.deviceId } } })));
      expect(answers.filter((a) => a?.ok).length).toBeLessThanOrEqual(1);
      answers.forEach((a) => checkRegister(it.token, it.deviceId, true, a));
    }
  }

  // Every request answered once; the counters agree.
  const st = service.stats();
  expect(st.accepted + st.rejected + st.throttled).toBe(sent);

  // Still serving: a fresh allowed device provisions end to end.
  const fresh = `ok-${s}-fresh`;
  const [c] = await exchange([{ topic: CSR_TOPIC('json'), fmt: 'json', body: { certificateSigningRequest: await csrFor(fresh, 0) } }]);
  expect(c?.ok, JSON.stringify(c?.body)).toBe(true);
  const [r] = await exchange([{ topic: REG_TOPIC(TEMPLATE, 'json'), fmt: 'json', body: { certificateOwnershipToken: c!.body['certificateOwnershipToken'], parameters: { SerialNumber: fresh } } }]);
  expect(r?.ok, JSON.stringify(r?.body)).toBe(true);
  await service.stop();

  // The registry on disk: no id with two usable certificates; every registered id is in it, not revoked.
  const reopened = await openCaDir(join(dir, 'ca'));
  const devices = reopened.devices();
  for (const d of devices) {
    const usable = [d.current, ...d.previous].filter((x) => x.revokedAt === undefined);
    expect(usable.length <= 1 || d.revoked, `"${d.deviceId}" holds ${usable.length} usable certificates`).toBe(true);
    expect(d.deviceId.startsWith('ok-')).toBe(true);
  }
  for (const id of [...registered, fresh]) {
    const d = devices.find((x) => x.deviceId === id);
    expect(d, `registered "${id}" is missing from the registry`).toBeDefined();
    expect(d!.current.revokedAt).toBeUndefined();
  }
  rmSync(dir, { recursive: true, force: true });
}

describe('provisioning service session fuzz', () => {
  test('random request sessions keep the issuing rules, answer everything once and stay up', async () => {
    const seed = Number(process.env['FUZZ_SEED'] ?? 20261207);
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 30 }), runSession), { numRuns: 25, seed, endOnFailure: true });
  }, 300_000);
});
