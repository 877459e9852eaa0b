// Fleet provisioning by claim, the device side (AWS IoT fleet provisioning MQTT API): connect
// with the shared claim certificate, send a CSR for a key made here (CreateCertificateFromCsr),
// register the thing with the ownership token (RegisterThing), store the certificate and key
// atomically, and hand them back for connectDevice.

import { randomBytes, X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import mqtt from 'mqtt';
import { DeviceError } from '../errors.js';
import type { Pem } from '../options.js';
import { assertOptions, describe, deviceIdProblem, pemText } from './args.js';
import { createDeviceCsr } from './csr.js';
import { CredentialStore, nodeCredentialFileSystem, type CredentialFileSystem } from './credential-store.js';

/** Options of {@link provisionByClaim}. */
export interface ProvisionByClaimOptions {
  /** The broker, `mqtts://host:port`. */
  readonly url: string;
  /** The claim certificate (CN `claim+<name>`) and its key, shared by a production batch. */
  readonly claim: { readonly cert: Pem; readonly key: Pem };
  /** The CA the broker's certificate chains to. */
  readonly ca: Pem;
  /** This device's id: the CSR's CN and the thing name. */
  readonly deviceId: string;
  /** The provisioning template to register with. */
  readonly template: string;
  /** RegisterThing parameters. Default `{ SerialNumber: deviceId }`. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** Where `<deviceId>.pem` (the certificate bundle) and `<deviceId>.key` (mode 0600) are written. */
  readonly dir: string;
  /** The whole exchange, connect included. Default 30,000 ms. */
  readonly timeoutMs?: number;
  /** The file operations (a test cuts power between them). Default `nodeCredentialFileSystem()`. */
  readonly fs?: CredentialFileSystem;
}

/** A provisioned device's credentials, on disk and in memory. */
export interface ProvisionedDevice {
  readonly deviceId: string;
  /** The certificate bundle (PEM), as connectDevice's `cert`. */
  readonly cert: string;
  /** PKCS#8 PEM, as connectDevice's `key`. */
  readonly key: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** AWS's certificate id: the SHA-256 of the certificate, hex. */
  readonly certificateId: string;
  /** RegisterThing's `deviceConfiguration`. */
  readonly deviceConfiguration: Readonly<Record<string, string>>;
}

function checkOptions(o: ProvisionByClaimOptions): { timeoutMs: number; parameters: Record<string, string>; claimCert: string; claimKey: string; ca: string } {
  const fn = 'provisionByClaim';
  assertOptions(fn, o);
  for (const f of ['url', 'template', 'dir', 'deviceId'] as const) {
    if (typeof o[f] !== 'string' || o[f].length === 0) throw new TypeError(`${fn}: ${f}: expected a non-empty string, got ${describe(o[f])}`);
  }
  const problem = deviceIdProblem(o.deviceId);
  if (problem !== undefined) throw new RangeError(`${fn}: deviceId: ${problem}`);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(o.template)) throw new RangeError(`${fn}: template: expected [A-Za-z0-9._-]{1,64}, got "${o.template.slice(0, 70)}"`);
  if (typeof o.claim !== 'object' || o.claim === null) throw new TypeError(`${fn}: claim: expected { cert, key }, got ${describe(o.claim)}`);
  const timeoutMs = o.timeoutMs ?? 30_000;
  if (typeof timeoutMs !== 'number') throw new TypeError(`${fn}: timeoutMs: expected a number, got ${describe(timeoutMs)}`);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) throw new RangeError(`${fn}: timeoutMs: expected an integer in [1, 600000], got ${timeoutMs}`);
  return { timeoutMs, parameters: { SerialNumber: o.deviceId, ...(o.parameters ?? {}) }, claimCert: pemText(fn, 'claim.cert', o.claim.cert), claimKey: pemText(fn, 'claim.key', o.claim.key), ca: pemText(fn, 'ca', o.ca) };
}

/**
 * Provisions this device by claim: a new ECDSA P-256 key made here, CreateCertificateFromCsr,
 * RegisterThing with `template`, then the certificate bundle and key written to `dir`
 * (each atomically: fsync, rename, fsync the directory; the key with mode 0600, first). Connect
 * with the result through `connectDevice({ url, cert, key, ca })`.
 *
 * Every request carries a random `clientToken` and only the answer echoing it counts: on a broker
 * other claims' answers arrive on the same topics. An accepted certificate must also carry the
 * key this device made.
 *
 * @throws TypeError / RangeError for bad options; DeviceError `PROVISIONING_REJECTED` (the
 * service's `errorCode` and `statusCode` in the message and `reasonCode`), `REQUEST_TIMEOUT`,
 * `CONNECTION_REFUSED` (the claim was refused or disconnected: another device took its session).
 * @example
 * ```ts
 * import { provisionByClaim } from '@outpost/device-sdk';
 * typeof provisionByClaim; // 'function'
 * ```
 */
export async function provisionByClaim(options: ProvisionByClaimOptions): Promise<ProvisionedDevice> {
  const o = checkOptions(options);
  const { deviceId } = options;
  const csr = await createDeviceCsr(deviceId);
  const myKey = createPublicKey(createPrivateKey(csr.privateKeyPem)).export({ type: 'spki', format: 'der' });
  const deadline = AbortSignal.timeout(o.timeoutMs);
  const client = mqtt.connect(options.url, {
    cert: o.claimCert, key: o.claimKey, ca: o.ca, rejectUnauthorized: true, protocolVersion: 5,
    clientId: `provision-${randomBytes(6).toString('hex')}`, reconnectPeriod: 0, clean: true, connectTimeout: o.timeoutMs,
  });
  const csrTopic = '$aws/certificates/create-from-csr/json';
  const regTopic = `$aws/provisioning-templates/${options.template}/provision/json`;
  try {
    await untilConnected(client, deadline);
    await client.subscribeAsync([`${csrTopic}/accepted`, `${csrTopic}/rejected`, `${regTopic}/accepted`, `${regTopic}/rejected`], { qos: 1 });
    const created = await exchange(client, csrTopic, { certificateSigningRequest: csr.csrPem }, deadline, (body) => {
      try {
        const cert = new X509Certificate(String(body['certificatePem']));
        return Buffer.from(cert.publicKey.export({ type: 'spki', format: 'der' })).equals(myKey);
      } catch {
        return false;
      }
    });
    const registered = await exchange(client, regTopic, { certificateOwnershipToken: created['certificateOwnershipToken'], parameters: o.parameters }, deadline, (body) => body['thingName'] === deviceId);
    const store = CredentialStore.inDir(options.fs ?? nodeCredentialFileSystem(), options.dir, deviceId);
    const cert = String(created['certificatePem']);
    await store.writeCurrent(cert, csr.privateKeyPem);
    return { deviceId, cert, key: csr.privateKeyPem, certPath: store.certPath, keyPath: store.keyPath, certificateId: String(created['certificateId']), deviceConfiguration: (registered['deviceConfiguration'] ?? {}) as Record<string, string> };
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}

/** @internal Resolves on CONNACK; a DeviceError on close, error or the deadline. */
export function untilConnected(client: mqtt.MqttClient, deadline: AbortSignal, fn = 'provisionByClaim', who = 'the claim'): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: unknown): void => reject(new DeviceError(deadline.aborted ? 'REQUEST_TIMEOUT' : 'CONNECTION_REFUSED', `${fn}: ${who} could not connect: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
    client.once('connect', () => resolve());
    client.once('error', fail);
    client.once('close', () => fail(new Error('connection closed')));
    deadline.addEventListener('abort', () => fail(new Error('timed out')), { once: true });
  });
}

/** @internal One request and its answer: the accepted or rejected message that echoes our clientToken. */
export function exchange(client: mqtt.MqttClient, topic: string, body: object, deadline: AbortSignal, mine: (b: Record<string, unknown>) => boolean, fn = 'provisionByClaim'): Promise<Record<string, unknown>> {
  const clientToken = randomBytes(16).toString('hex');
  return new Promise((resolve, reject) => {
    const done = (fn: () => void): void => {
      client.removeListener('message', onMessage);
      client.removeListener('close', onClose);
      deadline.removeEventListener('abort', onAbort);
      fn();
    };
    const onMessage = (t: string, payload: Buffer): void => {
      if (t !== `${topic}/accepted` && t !== `${topic}/rejected`) return;
      let b: Record<string, unknown>;
      try {
        b = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
      } catch {
        return;
      }
      if (b['clientToken'] !== clientToken) return;
      if (t.endsWith('/rejected')) {
        done(() => reject(new DeviceError('PROVISIONING_REJECTED', `${fn}: ${topic}: ${String(b['statusCode'])} ${String(b['errorCode'])}: ${String(b['errorMessage'])}`, { reasonCode: Number(b['statusCode']) })));
      } else if (mine(b)) done(() => resolve(b));
    };
    const onClose = (): void => done(() => reject(new DeviceError('CONNECTION_REFUSED', `${fn}: the broker closed the connection during ${topic} (another client may have connected with the same certificate)`)));
    const onAbort = (): void => done(() => reject(new DeviceError('REQUEST_TIMEOUT', `${fn}: no answer on ${topic}/accepted or /rejected in time`)));
    client.on('message', onMessage);
    client.on('close', onClose);
    deadline.addEventListener('abort', onAbort, { once: true });
    client.publish(topic, JSON.stringify({ ...body, clientToken }), { qos: 1 }, (err) => {
      if (err) done(() => reject(new DeviceError('PUBLISH_FAILED', `${fn}: ${topic}: ${err.message}`, { cause: err })));
    });
  });
}
