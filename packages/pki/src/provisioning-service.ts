// The reference fleet provisioning service: AWS IoT fleet provisioning by claim over any MQTT
// broker (Mosquitto here). It holds the fleet CA (a CaDir), answers CreateCertificateFromCsr
// with a certificate whose CN is the CSR's device id and an ownership token, and RegisterThing
// with the thing name, after the pre-provisioning hook allowed the device. Every state change
// is committed to the CA registry (fsynced, atomic) before it is acknowledged, in group commits.

import { randomBytes } from 'node:crypto';
import type { CaDir, RegistryData } from './ca-dir.js';
import { loadCa, type CaCredentials, type LoadedCa } from './certificates.js';
import { checkCsrFast, fastSigner, issueFast, type FastSigner } from './fast-issue.js';
import { assertOptions, describe, optionalBoolean, optionalInt } from './args.js';
import { REQUEST_FILTERS, decodePayload, encodePayload, parseRequestTopic, type PayloadFormat, type Rejection, type RequestTopic } from './provisioning-protocol.js';
import { TokenBucket, checkRateLimit, type RateLimit } from './provisioning-rate.js';
import { Refusal, certificateIdOf, pendingFor, recordIssued, recordRegistered } from './provisioning-state.js';
import { recordRotationConfirmed, recordRotationIssued } from './provisioning-rotation.js';

/** What the service needs of an MQTT client: MQTT.js 5's callback API (`mqtt.connect(…)`). */
export interface ProvisioningMqttClient {
  subscribe(filters: string[], options: { qos: 0 | 1 }, callback: (err: Error | null) => void): unknown;
  unsubscribe(filters: string[], callback: (err?: Error) => void): unknown;
  publish(topic: string, payload: Buffer, options: { qos: 0 | 1 }, callback: (err?: Error) => void): unknown;
  on(event: 'message', listener: (topic: string, payload: Buffer) => void): unknown;
  removeListener(event: 'message', listener: (topic: string, payload: Buffer) => void): unknown;
}

/** A provisioning template: how RegisterThing's parameters name the thing. */
export interface ProvisioningTemplate {
  /** The parameter holding the thing name, which must equal the certificate's device id. Default `'SerialNumber'`. */
  readonly thingNameParameter?: string;
  /** Returned as `deviceConfiguration` in RegisterThing's accepted answer. Default `{}`. */
  readonly deviceConfiguration?: Readonly<Record<string, string>>;
}

/** What the pre-provisioning hook is asked: at CreateCertificateFromCsr (`create`) and at RegisterThing (`register`). */
export interface PreProvisioningRequest {
  readonly stage: 'create' | 'register';
  readonly deviceId: string;
  readonly template?: string;
  readonly parameters?: Readonly<Record<string, string>>;
}

/** The pre-provisioning hook: an allow-list of device ids (serial numbers), or a callback. */
export type PreProvisioningHook = readonly string[] | ((request: PreProvisioningRequest) => boolean | Promise<boolean>);

/** One line of the service's log: every request and how it ended. */
export interface ProvisioningEvent {
  /** Epoch ms, from the service's clock. */
  readonly time: number;
  readonly op: 'create-keys' | 'create-from-csr' | 'register' | 'rotate-csr' | 'rotate-confirm' | 'invalid';
  readonly outcome: 'accepted' | 'rejected';
  readonly deviceId?: string;
  readonly certificateId?: string;
  readonly template?: string;
  readonly statusCode?: number;
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

/** Options of {@link startProvisioningService}. */
export interface ProvisioningServiceOptions {
  /** The service's own MQTT connection (a `services` identity with `$aws/certificates/#` and `$aws/provisioning-templates/#`). */
  readonly client: ProvisioningMqttClient;
  /** The fleet CA on disk; its registry also holds the service's state. */
  readonly ca: CaDir;
  /** Template name → template. RegisterThing for another name is rejected (404). */
  readonly templates: Readonly<Record<string, ProvisioningTemplate>>;
  /** Which devices may be provisioned (AWS's pre-provisioning hook). Required: there is no "allow all" default. */
  readonly allow: PreProvisioningHook;
  /** Issue again for a device id that already has a certificate (the old one stays valid until revoked). Default `false`. */
  readonly allowReprovision?: boolean;
  /** How long an ownership token may wait for its RegisterThing. Default 300,000 ms (5 min). */
  readonly tokenTtlMs?: number;
  /** Validity of issued certificates. Default 365 days. */
  readonly validityDays?: number;
  /** CreateCertificateFromCsr requests, all claims together. Default 100/s, burst 200. */
  readonly createRateLimit?: RateLimit;
  /** RegisterThing requests per template (a claim's ACL names its templates). Default 100/s, burst 200. */
  readonly registerRateLimit?: RateLimit;
  /** Rotation requests (`$aws/certificates/rotate/<id>/…`), all devices together. Default 100/s, burst 200. */
  readonly rotateRateLimit?: RateLimit;
  /** Revoke a device's old certificate when it confirms its rotated one. Default `true`. */
  readonly revokeRotated?: boolean;
  /** Most requests per registry write (group commit). Default 256. */
  readonly maxBatch?: number;
  /** Milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number;
  /** Called for every request's outcome. Default: nothing. */
  readonly log?: (event: ProvisioningEvent) => void;
  /**
   * Called after `crl.pem` was rewritten (a pending certificate replaced by a new request for
   * the same id was revoked): make the broker re-read it, e.g. SIGHUP Mosquitto. Default: nothing.
   */
  readonly onCrlChanged?: () => void;
}

/** Counters of a running service. */
export interface ProvisioningStats {
  readonly accepted: number;
  readonly rejected: number;
  readonly throttled: number;
  readonly commits: number;
}

/** A running provisioning service. */
export interface ProvisioningService {
  stats(): ProvisioningStats;
  /** Unsubscribes and waits for the requests in hand to be answered. */
  stop(): Promise<void>;
}

type Op = { apply(reg: RegistryData): unknown; resolve(v: unknown): void; reject(e: unknown): void };

interface Config {
  readonly client: ProvisioningMqttClient;
  readonly ca: CaDir;
  readonly templates: Map<string, ProvisioningTemplate>;
  readonly allow: PreProvisioningHook;
  readonly allowReprovision: boolean;
  readonly tokenTtlMs: number;
  readonly validityDays: number;
  readonly maxBatch: number;
  readonly now: () => number;
  readonly log: (event: ProvisioningEvent) => void;
  readonly onCrlChanged: () => void;
  readonly createLimit: RateLimit;
  readonly registerLimit: RateLimit;
  readonly rotateLimit: RateLimit;
  readonly revokeRotated: boolean;
}

/** What an accepted request answers and logs. */
interface Outcome {
  readonly body: object;
  readonly deviceId: string;
  readonly certificateId: string;
}

function checkConfig(fn: string, options: ProvisioningServiceOptions): Config {
  assertOptions(fn, options);
  const { client, ca } = options;
  if (typeof client !== 'object' || client === null || typeof client.publish !== 'function') throw new TypeError(`${fn}: client: expected an MQTT.js client, got ${describe(client)}`);
  if (typeof ca !== 'object' || ca === null || typeof ca.transact !== 'function') throw new TypeError(`${fn}: ca: expected a CaDir (openCaDir), got ${describe(ca)}`);
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError(`${fn}: now: expected a function, got ${describe(now)}`);
  return {
    client, ca, now,
    templates: checkTemplates(fn, options.templates),
    allow: checkHook(fn, options.allow),
    allowReprovision: optionalBoolean(fn, 'allowReprovision', options.allowReprovision) ?? false,
    tokenTtlMs: optionalInt(fn, 'tokenTtlMs', options.tokenTtlMs, 1_000, 86_400_000) ?? 300_000,
    validityDays: optionalInt(fn, 'validityDays', options.validityDays, 1, 36_500) ?? 365,
    maxBatch: optionalInt(fn, 'maxBatch', options.maxBatch, 1, 65_536) ?? 256,
    log: options.log ?? (() => undefined),
    onCrlChanged: options.onCrlChanged ?? (() => undefined),
    createLimit: checkRateLimit(fn, 'createRateLimit', options.createRateLimit, { ratePerSecond: 100, burst: 200 }),
    registerLimit: checkRateLimit(fn, 'registerRateLimit', options.registerRateLimit, { ratePerSecond: 100, burst: 200 }),
    rotateLimit: checkRateLimit(fn, 'rotateRateLimit', options.rotateRateLimit, { ratePerSecond: 100, burst: 200 }),
    revokeRotated: optionalBoolean(fn, 'revokeRotated', options.revokeRotated) ?? true,
  };
}

class Server {
  readonly stats = { accepted: 0, rejected: 0, throttled: 0, commits: 0 };
  readonly inFlight = new Set<Promise<void>>();
  readonly #queue: Op[] = [];
  #draining: Promise<void> | undefined;
  readonly #createBucket: TokenBucket;
  readonly #rotateBucket: TokenBucket;
  #crlWrite: Promise<void> = Promise.resolve();
  readonly #registerBuckets = new Map<string, TokenBucket>();

  readonly fast: FastSigner;

  constructor(readonly c: Config, readonly credentials: CaCredentials, readonly signer: LoadedCa) {
    this.fast = fastSigner(signer.node.toString(), signer.keyObject, signer.keyId, signer.chainPem);
    this.#createBucket = new TokenBucket(c.createLimit, c.now());
    this.#rotateBucket = new TokenBucket(c.rotateLimit, c.now());
  }

  /** Group commit: every op queued while a write is in progress goes into the next write. */
  commit<T>(apply: (reg: RegistryData) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ apply, resolve: resolve as (v: unknown) => void, reject });
      this.#draining ??= this.#drain().finally(() => (this.#draining = undefined));
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.c.maxBatch);
      const results: Array<{ ok: boolean; v: unknown }> = [];
      try {
        await this.c.ca.transact((reg) => {
          for (const op of batch) {
            try {
              results.push({ ok: true, v: op.apply(reg) });
            } catch (err) {
              results.push({ ok: false, v: err });
            }
          }
        });
        this.stats.commits++;
        batch.forEach((op, i) => (results[i]!.ok ? op.resolve(results[i]!.v) : op.reject(results[i]!.v)));
      } catch (err) {
        for (const op of batch) op.reject(err);
      }
    }
  }

  answer(topic: string, format: PayloadFormat, body: object): Promise<void> {
    return new Promise((resolve) => {
      const bytes = encodePayload(format, body);
      this.c.client.publish(topic, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { qos: 1 }, () => resolve());
    });
  }

  async handle(topic: string, req: RequestTopic, payload: Uint8Array): Promise<void> {
    const t = this.c.now();
    const body = decodePayload(req.format, payload);
    const token = body?.['clientToken'];
    const echo = typeof token === 'string' && token.length <= 64 ? { clientToken: token } : {};
    const template = req.op === 'register' ? { template: req.template } : {};
    const ctx: { deviceId?: string } = req.op === 'rotate-csr' || req.op === 'rotate-confirm' ? { deviceId: req.deviceId } : {};
    try {
      if (body === undefined) throw new Refusal(400, 'InvalidPayload', `the payload is not a ${req.format.toUpperCase()} object`);
      if (req.op === 'create-keys') {
        throw new Refusal(400, 'CreateKeysAndCertificateNotSupported', 'send a CSR to create-from-csr: the private key stays on the device (on a shared broker topic a generated key would reach every claim)');
      }
      const out = req.op === 'create-from-csr' ? await this.create(body, t, ctx)
        : req.op === 'register' ? await this.register(req.template, body, t, ctx)
          : req.op === 'rotate-csr' ? await this.rotate(req.deviceId, body, t)
            : await this.confirmRotation(req.deviceId, body, t);
      await this.answer(`${topic}/accepted`, req.format, { ...out.body, ...echo });
      this.stats.accepted++;
      this.c.log({ time: t, op: req.op, outcome: 'accepted', deviceId: out.deviceId, certificateId: out.certificateId, ...template });
    } catch (err) {
      const r = err instanceof Refusal ? err : new Refusal(500, 'InternalError', err instanceof Error ? err.message : String(err));
      if (r.statusCode === 429) this.stats.throttled++;
      else this.stats.rejected++;
      const rejection: Rejection = { statusCode: r.statusCode, errorCode: r.errorCode, errorMessage: r.message, ...echo };
      await this.answer(`${topic}/rejected`, req.format, rejection);
      this.c.log({ time: t, op: req.op, outcome: 'rejected', ...(ctx.deviceId === undefined ? {} : { deviceId: ctx.deviceId }), ...template, statusCode: r.statusCode, errorCode: r.errorCode, errorMessage: r.message });
    }
  }

  /** CreateCertificateFromCsr. */
  async create(body: Record<string, unknown>, t: number, ctx: { deviceId?: string }): Promise<Outcome> {
    if (!this.#createBucket.take(t)) throw throttled();
    const csr = checkCsr(body['certificateSigningRequest']);
    const deviceId = (ctx.deviceId = csr.deviceId);
    if (!(await allowed(this.c.allow, { stage: 'create', deviceId }))) throw new Refusal(403, 'NotAllowed', `device "${deviceId}" is not allowed by the pre-provisioning hook`);
    // The CSR's signature was verified above: sign its public key.
    const cert = issueFast(this.fast, { deviceId, spki: csr.spki, now: new Date(t), validityDays: this.c.validityDays });
    const token = randomBytes(32).toString('base64url');
    const replaced = await this.commit((reg) => recordIssued(reg, { cert, token, expiresAt: t + this.c.tokenTtlMs, now: t, allowReprovision: this.c.allowReprovision }));
    if (replaced) await this.crlChanged(t); // the replaced pending certificate, revoked in the commit
    const certificateId = certificateIdOf(cert);
    return { deviceId, certificateId, body: { certificateId, certificatePem: cert.chainPem, certificateOwnershipToken: token } };
  }

  /** The CRL changed in a commit: rewrite crl.pem, tell the broker. */
  async crlChanged(t: number): Promise<void> {
    // One CRL write at a time, each from the registry as it is then: the last one written is the newest.
    const w = this.#crlWrite.then(() => this.c.ca.writeCrl(new Date(t)));
    this.#crlWrite = w.catch(() => undefined);
    await w;
    this.c.onCrlChanged();
  }

  /** Rotation: a CSR from the device whose CN the topic names (the ACL confines the topic to it). */
  async rotate(deviceId: string, body: Record<string, unknown>, t: number): Promise<Outcome> {
    if (!this.#rotateBucket.take(t)) throw throttled();
    const csr = checkCsr(body['certificateSigningRequest']);
    if (csr.deviceId !== deviceId) throw new Refusal(403, 'NotAllowed', `the CSR is for "${csr.deviceId}", not for "${deviceId}", the device on this topic`);
    const cert = issueFast(this.fast, { deviceId, spki: csr.spki, now: new Date(t), validityDays: this.c.validityDays });
    if (await this.commit((reg) => recordRotationIssued(reg, { cert, now: t }))) await this.crlChanged(t);
    const certificateId = certificateIdOf(cert);
    return { deviceId, certificateId, body: { certificateId, certificatePem: cert.chainPem } };
  }

  /** Rotation confirmed from a connection made with the new certificate. */
  async confirmRotation(deviceId: string, body: Record<string, unknown>, t: number): Promise<Outcome> {
    const certificateId = body['certificateId'];
    if (typeof certificateId !== 'string' || !/^[0-9a-f]{64}$/.test(certificateId)) throw new Refusal(400, 'InvalidPayload', 'certificateId: expected 64 hex digits');
    const { revoked } = await this.commit((reg) => recordRotationConfirmed(reg, { deviceId, certificateId, now: t, revokeOld: this.c.revokeRotated }));
    if (revoked.length > 0) await this.crlChanged(t);
    return { deviceId, certificateId, body: { certificateId, revokedSerialNumbers: revoked } };
  }

  /** RegisterThing. */
  async register(name: string, body: Record<string, unknown>, t: number, ctx: { deviceId?: string }): Promise<Outcome> {
    const tpl = this.c.templates.get(name);
    if (tpl === undefined) throw new Refusal(404, 'NotFound', `no provisioning template "${name}"`);
    let bucket = this.#registerBuckets.get(name);
    if (bucket === undefined) this.#registerBuckets.set(name, (bucket = new TokenBucket(this.c.registerLimit, t)));
    if (!bucket.take(t)) throw throttled();
    const token = body['certificateOwnershipToken'];
    if (typeof token !== 'string' || token.length === 0 || token.length > 256) throw new Refusal(400, 'InvalidPayload', 'certificateOwnershipToken: expected a string');
    const parameters = checkParameters(body['parameters']);
    const param = tpl.thingNameParameter ?? 'SerialNumber';
    // A read outside the commit, for the hook; recordRegistered checks again inside it.
    const deviceId = (ctx.deviceId = this.c.ca.peek((reg) => pendingFor(reg as RegistryData, token, t)).deviceId);
    if (parameters[param] !== deviceId) throw new Refusal(403, 'ThingNameMismatch', `parameters.${param} "${String(parameters[param])}" is not the certificate's device id "${deviceId}"`);
    if (!(await allowed(this.c.allow, { stage: 'register', deviceId, template: name, parameters }))) throw new Refusal(403, 'NotAllowed', `device "${deviceId}" is not allowed by the pre-provisioning hook`);
    const p = await this.commit((reg) => recordRegistered(reg, { token, template: name, parameters, now: t }));
    return { deviceId, certificateId: p.certificateId, body: { deviceConfiguration: tpl.deviceConfiguration ?? {}, thingName: p.deviceId } };
  }
}

/**
 * Starts the fleet provisioning service on `client`. AWS IoT fleet provisioning semantics:
 * CreateCertificateFromCsr → `{ certificateId, certificatePem, certificateOwnershipToken }`,
 * RegisterThing → `{ deviceConfiguration, thingName }`, refusals → `{ statusCode, errorCode,
 * errorMessage }` on `/rejected`; a request's `clientToken` (an Outpost extension: on a shared
 * broker topic it tells a device its own answer) is echoed. CreateKeysAndCertificate is refused:
 * on Mosquitto its answer, a private key, would reach every claim subscribed to the topic.
 *
 * @example
 * ```ts
 * import { startProvisioningService } from '@outpost/pki';
 * typeof startProvisioningService; // 'function'
 * ```
 */
export async function startProvisioningService(options: ProvisioningServiceOptions): Promise<ProvisioningService> {
  const fn = 'startProvisioningService';
  const c = checkConfig(fn, options);
  const credentials = await c.ca.credentials();
  const server = new Server(c, credentials, await loadCa(fn, credentials)); // the CA key imported once
  // A power cut between a registry commit that revoked something and its CRL write leaves crl.pem
  // behind the registry (that request was never answered): rewrite it from the registry first.
  await server.crlChanged(c.now());
  const onMessage = (topic: string, payload: Buffer): void => {
    const req = parseRequestTopic(topic);
    if (req === undefined) return; // our own answers, and anything else on the connection
    const p = server.handle(topic, req, payload);
    server.inFlight.add(p);
    void p.finally(() => server.inFlight.delete(p));
  };
  c.client.on('message', onMessage);
  await new Promise<void>((resolve, reject) => c.client.subscribe([...REQUEST_FILTERS], { qos: 1 }, (err) => (err ? reject(err) : resolve())));
  return {
    stats: () => ({ ...server.stats }),
    async stop() {
      c.client.removeListener('message', onMessage);
      await new Promise<void>((resolve) => c.client.unsubscribe([...REQUEST_FILTERS], () => resolve()));
      await Promise.allSettled([...server.inFlight]);
    },
  };
}

/** Longest CSR the service parses (PEM characters). An RSA-4096 CSR is about 1.7 KB. */
const MAX_CSR_LENGTH = 8192;

function checkCsr(value: unknown): { deviceId: string; spki: Buffer } {
  if (typeof value !== 'string' || value.length === 0) throw new Refusal(400, 'InvalidCsr', 'certificateSigningRequest: expected a PEM string');
  if (value.length > MAX_CSR_LENGTH) throw new Refusal(400, 'InvalidCsr', `certificateSigningRequest: longer than ${MAX_CSR_LENGTH} characters`);
  const v = checkCsrFast(value);
  if (!v.ok) throw new Refusal(400, 'InvalidCsr', v.reason);
  return v;
}

function throttled(): Refusal {
  return new Refusal(429, 'Throttling', 'rate limit exceeded; retry later');
}

async function allowed(hook: PreProvisioningHook, req: PreProvisioningRequest): Promise<boolean> {
  if (typeof hook === 'function') return (await hook(req)) === true;
  return hook.includes(req.deviceId);
}

function checkParameters(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Refusal(400, 'InvalidPayload', 'parameters: expected an object of strings');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 64 || entries.some(([k, v]) => typeof v !== 'string' || k.length > 128 || v.length > 2048)) {
    throw new Refusal(400, 'InvalidPayload', 'parameters: at most 64 string values (keys ≤ 128, values ≤ 2048 characters)');
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function checkTemplates(fn: string, value: unknown): Map<string, ProvisioningTemplate> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`${fn}: templates: expected { name: template }, got ${describe(value)}`);
  const out = new Map<string, ProvisioningTemplate>();
  for (const [name, t] of Object.entries(value)) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new RangeError(`${fn}: templates: "${name.slice(0, 70)}" is not a template name ([A-Za-z0-9._-]{1,64})`);
    if (typeof t !== 'object' || t === null) throw new TypeError(`${fn}: templates.${name}: expected an object, got ${describe(t)}`);
    out.set(name, t as ProvisioningTemplate);
  }
  if (out.size === 0) throw new RangeError(`${fn}: templates: expected at least one template`);
  return out;
}

function checkHook(fn: string, value: unknown): PreProvisioningHook {
  if (typeof value === 'function') return value as PreProvisioningHook;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return [...value] as string[];
  throw new TypeError(`${fn}: allow: expected an array of device ids or a function, got ${describe(value)}`);
}
