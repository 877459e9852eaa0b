// Device-side CSR creation: the key pair is made here (WebCrypto, ECDSA P-256 with SHA-256) and
// never leaves the device; the CA sees only the PKCS#10 request (RFC 2986).

import { webcrypto } from 'node:crypto';
import { describe, deviceIdProblem } from './args.js';

/** A new device key and the CSR that carries its public half. */
export interface DeviceCsr {
  readonly deviceId: string;
  /** PKCS#10 CSR, PEM: subject `CN=<deviceId>`, no extensions requested. */
  readonly csrPem: string;
  /** PKCS#8 PEM. Store it with mode 0600 (provisionByClaim does). */
  readonly privateKeyPem: string;
}

let x509Loading: Promise<typeof import('@peculiar/x509')> | undefined;

// @peculiar/x509 needs Reflect metadata before its first import (see pki's x509-loader): add
// the three functions tsyringe calls only where no polyfill is loaded.
function loadX509(): Promise<typeof import('@peculiar/x509')> {
  const r = Reflect as unknown as Record<string, unknown>;
  if (typeof r['getMetadata'] !== 'function') {
    const store = new WeakMap<object, Map<unknown, unknown>>();
    const own = (k: unknown, t: object): unknown => store.get(t)?.get(k);
    r['defineMetadata'] = (k: unknown, v: unknown, t: object) => {
      if (!store.has(t)) store.set(t, new Map());
      store.get(t)!.set(k, v);
    };
    r['getOwnMetadata'] = own;
    r['getMetadata'] = (k: unknown, t: object) => {
      for (let o: object | null = t; o !== null; o = Object.getPrototypeOf(o) as object | null) {
        const v = own(k, o);
        if (v !== undefined) return v;
      }
      return undefined;
    };
  }
  return (x509Loading ??= import('@peculiar/x509'));
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/**
 * Makes a device key pair (ECDSA P-256) and a CSR for it with `CN=<deviceId>` and nothing else:
 * what fleet provisioning's CreateCertificateFromCsr and `outpost pki issue-device --csr` take.
 *
 * @throws TypeError for a non-string id; RangeError for an id outside `[A-Za-z0-9._-]{1,64}`.
 * @example
 * ```ts
 * import { createDeviceCsr } from '@outpost/device-sdk';
 * const { csrPem, privateKeyPem } = await createDeviceCsr('sensor-0042');
 * csrPem.startsWith('-----BEGIN CERTIFICATE REQUEST-----'); // true
 * privateKeyPem.startsWith('-----BEGIN PRIVATE KEY-----'); // true
 * ```
 */
export async function createDeviceCsr(deviceId: string): Promise<DeviceCsr> {
  if (typeof deviceId !== 'string') throw new TypeError(`createDeviceCsr: deviceId: expected a string, got ${describe(deviceId)}`);
  const problem = deviceIdProblem(deviceId);
  if (problem !== undefined) throw new RangeError(`createDeviceCsr: deviceId: ${problem}`);
  const x509 = await loadX509();
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: [{ CN: [deviceId] }], keys, signingAlgorithm: alg }, webcrypto);
  return { deviceId, csrPem: csr.toString('pem') + '\n', privateKeyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}
