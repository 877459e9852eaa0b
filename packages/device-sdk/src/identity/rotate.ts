// Certificate rotation before expiry, the device side. AWS IoT has no device-initiated rotation
// API: its users call CreateCertificateFromCsr from the device's own identity. Here the request
// goes on per-device topics under $aws/certificates/rotate/<id>/…, which the broker ACL
// (`pattern readwrite $aws/certificates/rotate/%u/#`, %u = the certificate's CN) confines to the
// device whose certificate has that CN: the topic tells the service who asks.
//
//   1. connect with the current certificate; CSR (new key, CN = id) → create-from-csr
//   2. store the new pair as <id>.next.{pem,key} (durably; the current pair is untouched)
//   3. connect with the new pair; confirm on that connection (the service may then revoke the old)
//   4. promote next → current (see credential-store.ts for a cut in between)
// A run that finds a next pair resumes at 3; a next pair the broker refuses while the current
// one still connects is dropped and the rotation starts over.

import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import mqtt from 'mqtt';
import { DeviceError } from '../errors.js';
import type { Pem } from '../options.js';
import { assertOptions, describe, deviceIdProblem, pemText } from './args.js';
import { createDeviceCsr } from './csr.js';
import { CredentialStore, nodeCredentialFileSystem, type CredentialFileSystem, type CredentialPair } from './credential-store.js';
import { exchange, untilConnected } from './provision.js';

const DAY = 86_400_000;

/** Options of {@link rotateCertificate}. */
export interface RotateCertificateOptions {
  /** The broker, `mqtts://host:port`. */
  readonly url: string;
  /** The CA the broker's certificate chains to. */
  readonly ca: Pem;
  /** The directory holding `<deviceId>.pem` and `<deviceId>.key` (as `provisionByClaim` wrote them). Or give `certPath` and `keyPath`. */
  readonly dir?: string;
  /** Required with `dir`; with `certPath` the certificate's CN by default. */
  readonly deviceId?: string;
  /** The certificate bundle file (instead of `dir`); the rotated pair goes to `<name>.next.pem` beside it. */
  readonly certPath?: string;
  /** Its key file (with `certPath`). */
  readonly keyPath?: string;
  /**
   * Rotate when the certificate has less than this left. Default 30 days, but never more than a
   * third of the certificate's lifetime (a 30-day certificate rotates with 10 days left).
   */
  readonly marginDays?: number;
  /** Rotate now, whatever the margin. Default `false`. */
  readonly force?: boolean;
  /** Milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number;
  /** Each connection and exchange. Default 30,000 ms. */
  readonly timeoutMs?: number;
  /** The file operations (a test cuts power between them). Default `nodeCredentialFileSystem()`. */
  readonly fs?: CredentialFileSystem;
}

/** What {@link rotateCertificate} did, and the pair to connect with now. */
export interface RotationResult {
  /** `'not-due'`: nothing changed; `'rotated'`: a new certificate is current (and confirmed). */
  readonly outcome: 'not-due' | 'rotated';
  readonly deviceId: string;
  readonly cert: string;
  readonly key: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly certificateId: string;
  readonly notAfter: Date;
  /** When the current certificate becomes due for rotation. */
  readonly rotateAt: Date;
}

/**
 * The per-device rotation topics (an Outpost extension of the AWS fleet provisioning API).
 *
 * @example
 * ```ts
 * import { rotationTopics } from '@outpost/device-sdk';
 * rotationTopics('sensor-1', 'confirm').accepted; // '$aws/certificates/rotate/sensor-1/confirm/json/accepted'
 * ```
 */
export function rotationTopics(deviceId: string, op: 'create-from-csr' | 'confirm'): { request: string; accepted: string; rejected: string } {
  const problem = typeof deviceId === 'string' ? deviceIdProblem(deviceId) : 'expected a string';
  if (problem !== undefined) throw new RangeError(`rotationTopics: deviceId: ${problem}`);
  if (op !== 'create-from-csr' && op !== 'confirm') throw new RangeError(`rotationTopics: op: expected "create-from-csr" or "confirm", got ${JSON.stringify(op)}`);
  const request = `$aws/certificates/rotate/${deviceId}/${op}/json`;
  return { request, accepted: `${request}/accepted`, rejected: `${request}/rejected` };
}

/**
 * When a certificate valid from `notBefore` to `notAfter` is due for rotation: `marginDays`
 * before its end, but never more than a third of its lifetime before it.
 *
 * @example
 * ```ts
 * import { rotationDueAt } from '@outpost/device-sdk';
 * // A one-year certificate rotates 30 days before its end:
 * rotationDueAt(new Date('2026-01-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z')).toISOString(); // '2026-12-02T00:00:00.000Z'
 * // A 30-day certificate with 10 days left:
 * rotationDueAt(new Date('2026-01-01T00:00:00Z'), new Date('2026-01-31T00:00:00Z')).toISOString(); // '2026-01-21T00:00:00.000Z'
 * ```
 */
export function rotationDueAt(notBefore: Date, notAfter: Date, marginDays = 30): Date {
  if (!(notBefore instanceof Date) || !(notAfter instanceof Date)) throw new TypeError(`rotationDueAt: notBefore, notAfter: expected Dates, got ${describe(notBefore)}, ${describe(notAfter)}`);
  if (typeof marginDays !== 'number' || !Number.isFinite(marginDays) || marginDays < 0) throw new RangeError(`rotationDueAt: marginDays: expected a number ≥ 0, got ${String(marginDays)}`);
  const life = notAfter.getTime() - notBefore.getTime();
  return new Date(notAfter.getTime() - Math.min(marginDays * DAY, life / 3));
}

interface Checked {
  readonly url: string;
  readonly ca: string;
  readonly deviceId: string;
  readonly marginDays: number;
  readonly force: boolean;
  readonly now: () => number;
  readonly timeoutMs: number;
  readonly fs: CredentialFileSystem;
}

const FN = 'rotateCertificate';

function checkOptions(o: RotateCertificateOptions): Omit<Checked, 'deviceId'> & { deviceId: string | undefined; paths: [string, string] | { dir: string; deviceId: string } } {
  assertOptions(FN, o);
  const byPath = o.certPath !== undefined || o.keyPath !== undefined;
  const required = byPath ? (['url', 'certPath', 'keyPath'] as const) : (['url', 'dir', 'deviceId'] as const);
  for (const f of required) {
    if (typeof o[f] !== 'string' || o[f].length === 0) throw new TypeError(`${FN}: ${f}: expected a non-empty string, got ${describe(o[f])}`);
  }
  if (byPath && o.dir !== undefined) throw new TypeError(`${FN}: dir: give dir and deviceId, or certPath and keyPath, not both`);
  if (o.deviceId !== undefined) {
    const problem = typeof o.deviceId === 'string' ? deviceIdProblem(o.deviceId) : `expected a string, got ${describe(o.deviceId)}`;
    if (problem !== undefined) throw new RangeError(`${FN}: deviceId: ${problem}`);
  }
  const num = (f: 'marginDays' | 'timeoutMs', dflt: number, min: number, max: number): number => {
    const v = o[f] ?? dflt;
    if (typeof v !== 'number') throw new TypeError(`${FN}: ${f}: expected a number, got ${describe(v)}`);
    if (!Number.isFinite(v) || v < min || v > max) throw new RangeError(`${FN}: ${f}: expected a number in [${min}, ${max}], got ${v}`);
    return v;
  };
  if (o.force !== undefined && typeof o.force !== 'boolean') throw new TypeError(`${FN}: force: expected a boolean, got ${describe(o.force)}`);
  if (o.now !== undefined && typeof o.now !== 'function') throw new TypeError(`${FN}: now: expected a function, got ${describe(o.now)}`);
  return {
    url: o.url, deviceId: o.deviceId, ca: pemText(FN, 'ca', o.ca),
    paths: byPath ? [o.certPath!, o.keyPath!] : { dir: o.dir!, deviceId: o.deviceId! },
    marginDays: num('marginDays', 30, 0, 36_500), timeoutMs: Math.round(num('timeoutMs', 30_000, 1, 600_000)),
    force: o.force ?? false, now: o.now ?? Date.now, fs: o.fs ?? nodeCredentialFileSystem(),
  };
}

/** Runs `fn` on an MQTT connection made with `pair` (the device's own client id: the broker binds it to the CN). */
async function withConnection<T>(o: Checked, pair: CredentialPair, fn: (c: mqtt.MqttClient, deadline: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = AbortSignal.timeout(o.timeoutMs);
  const client = mqtt.connect(o.url, {
    cert: pair.cert, key: pair.key, ca: o.ca, rejectUnauthorized: true, protocolVersion: 5,
    clientId: o.deviceId, reconnectPeriod: 0, clean: true, connectTimeout: o.timeoutMs,
  });
  client.on('error', () => undefined); // reported through untilConnected / exchange
  try {
    await untilConnected(client, deadline, FN, `the device (${pair.certPath})`);
    return await fn(client, deadline);
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}

/** Connects with the new pair and confirms it on that connection. */
async function confirm(o: Checked, pair: CredentialPair): Promise<void> {
  const t = rotationTopics(o.deviceId, 'confirm');
  await withConnection(o, pair, async (c, deadline) => {
    await c.subscribeAsync([t.accepted, t.rejected], { qos: 1 });
    await exchange(c, t.request, { certificateId: pair.certificateId }, deadline, (b) => b['certificateId'] === pair.certificateId, FN);
  });
}

/** Asks for a certificate for a new key over the current identity; returns the new pair's texts. */
async function requestNew(o: Checked, current: CredentialPair): Promise<{ cert: string; key: string }> {
  const csr = await createDeviceCsr(o.deviceId);
  const myKey = createPublicKey(createPrivateKey(csr.privateKeyPem)).export({ type: 'spki', format: 'der' });
  const t = rotationTopics(o.deviceId, 'create-from-csr');
  const created = await withConnection(o, current, async (c, deadline) => {
    await c.subscribeAsync([t.accepted, t.rejected], { qos: 1 });
    return exchange(c, t.request, { certificateSigningRequest: csr.csrPem }, deadline, (b) => {
      try {
        const x = new X509Certificate(String(b['certificatePem']));
        return x.subject === `CN=${o.deviceId}` && Buffer.from(x.publicKey.export({ type: 'spki', format: 'der' })).equals(myKey);
      } catch {
        return false;
      }
    }, FN);
  });
  return { cert: String(created['certificatePem']), key: csr.privateKeyPem };
}

/** The device id: the certificate's CN (with `certPath` and no `deviceId`). */
function commonName(pair: CredentialPair | undefined, store: CredentialStore): string {
  if (pair === undefined) throw new DeviceError('CERT_REQUIRED', `${FN}: no matching certificate and key at ${store.certPath} and ${store.keyPath}`);
  const cn = /^CN=(.*)$/.exec(new X509Certificate(pair.cert).subject)?.[1];
  if (cn === undefined || deviceIdProblem(cn) !== undefined) throw new DeviceError('CERT_INVALID', `${FN}: ${pair.certPath}: the subject is not CN=<device id>; pass deviceId`);
  return cn;
}

function result(outcome: RotationResult['outcome'], o: Checked, p: CredentialPair, store: CredentialStore): RotationResult {
  return {
    outcome, deviceId: o.deviceId, cert: p.cert, key: p.key, certPath: store.certPath, keyPath: store.keyPath,
    certificateId: p.certificateId, notAfter: p.notAfter, rotateAt: rotationDueAt(p.notBefore, p.notAfter, o.marginDays),
  };
}

/**
 * Rotates this device's certificate when it is within `marginDays` of its end (or `force`): a new
 * ECDSA P-256 key, a CSR sent over an mTLS connection made with the **current** certificate, the
 * new pair stored next to the old one (`<id>.next.pem` / `.key`, durably), a connection with the
 * new pair on which the device confirms it, then the new pair promoted to `<id>.pem` / `.key`.
 * The old certificate stays valid until the confirmation (the service then revokes it).
 *
 * A power cut at any file operation leaves a working pair on disk (old or new); running again
 * finishes the rotation. The rotation connects with the device's own client id: the broker binds
 * it to the CN, so run it while the app's connection is closed (or expect a session takeover).
 *
 * @throws TypeError / RangeError for bad options; DeviceError `CERT_REQUIRED` (no usable pair in
 * `dir`), `PROVISIONING_REJECTED` (the service's answer), `CONNECTION_REFUSED`, `REQUEST_TIMEOUT`.
 * @example
 * ```ts
 * import { rotateCertificate } from '@outpost/device-sdk';
 * typeof rotateCertificate; // 'function'
 * ```
 */
export async function rotateCertificate(options: RotateCertificateOptions): Promise<RotationResult> {
  const c = checkOptions(options);
  const store = Array.isArray(c.paths) ? new CredentialStore(c.fs, c.paths[0], c.paths[1]) : CredentialStore.inDir(c.fs, c.paths.dir, c.paths.deviceId);
  const { current, next } = await store.load();
  const o: Checked = { ...c, deviceId: c.deviceId ?? commonName(current ?? next, store) };
  if (next !== undefined) {
    // An earlier run stored a new pair and did not promote it: confirm it (again) and promote.
    try {
      await confirm(o, next);
      await store.promote();
      return result('rotated', o, next, store);
    } catch (err) {
      // Drop the stored pair only when it is refused — the service does not know it (404), or the
      // broker refuses its handshake while the current pair connects; a timeout keeps both.
      const refused = err instanceof DeviceError && (err.code === 'CONNECTION_REFUSED' || (err.code === 'PROVISIONING_REJECTED' && err.reasonCode === 404));
      if (current === undefined || !refused) throw err;
      await withConnection(o, current, async () => undefined).catch(() => Promise.reject(err));
      await store.discardNext();
    }
  }
  if (current === undefined) throw new DeviceError('CERT_REQUIRED', `${FN}: no matching certificate and key at ${store.certPath} and ${store.keyPath}`);
  if (!o.force && o.now() < rotationDueAt(current.notBefore, current.notAfter, o.marginDays).getTime()) return result('not-due', o, current, store);
  const fresh = await requestNew(o, current);
  await store.writeNext(fresh.cert, fresh.key);
  const { next: stored } = await store.load();
  if (stored === undefined) throw new DeviceError('CERT_INVALID', `${FN}: the stored rotated pair does not read back`);
  await confirm(o, stored);
  await store.promote();
  return result('rotated', o, stored, store);
}
