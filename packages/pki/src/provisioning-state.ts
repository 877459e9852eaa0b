// The provisioning service's durable state, kept inside the CA registry (registry.json) so that
// a device's certificate, its ownership token and its registration are committed by one atomic
// write: after a power cut either all of a batch is on disk or none of it (and none of it was
// acknowledged). Every function here checks first and mutates last, so a refused request in a
// batch leaves no trace.

import { createHash } from 'node:crypto';
import type { RegistryData } from './ca-dir.js';
import type { DeviceCertificate } from './certificates.js';

/** An issued certificate waiting for its RegisterThing. */
export interface PendingToken {
  readonly deviceId: string;
  readonly certificateId: string;
  readonly serialNumber: string;
  /** Epoch ms after which the token is refused. */
  readonly expiresAt: number;
}

/** A provisioned device (RegisterThing accepted). */
export interface ProvisionedThing {
  readonly certificateId: string;
  readonly template: string;
  readonly parameters: Readonly<Record<string, string>>;
  /** ISO 8601. */
  readonly registeredAt: string;
}

export interface ProvisioningState {
  /** sha256(token) hex → pending: the registry never holds a usable token. */
  pending: Record<string, PendingToken>;
  things: Record<string, ProvisionedThing>;
}

/** A refusal decided inside a transaction: statusCode and errorCode of the `/rejected` answer. */
export class Refusal extends Error {
  constructor(readonly statusCode: number, readonly errorCode: string, message: string) {
    super(message);
  }
}

export function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function stateOf(reg: RegistryData): ProvisioningState {
  const s = reg.provisioning as ProvisioningState | undefined;
  if (s !== undefined) return s;
  const fresh: ProvisioningState = { pending: {}, things: {} };
  reg.provisioning = fresh;
  return fresh;
}

/** The certificate id AWS uses: the SHA-256 of the certificate DER, 64 hex digits. */
export function certificateIdOf(cert: DeviceCertificate): string {
  return cert.fingerprint.replaceAll(':', '').toLowerCase();
}

/**
 * Records an issued certificate and its pending token (CreateCertificateFromCsr). A device whose
 * earlier certificate is still pending (issued, never registered: its answer was lost, or it
 * crashed before RegisterThing) may ask again: the pending certificate is revoked (it goes into
 * the next CRL; returns true) and its token dropped, so one id never has two usable certificates.
 */
export function recordIssued(reg: RegistryData, o: { cert: DeviceCertificate; token: string; expiresAt: number; now: number; allowReprovision: boolean }): boolean {
  const st = stateOf(reg);
  const { cert } = o;
  const id = cert.deviceId;
  let existing = reg.devices[id];
  const pendingKeys = existing === undefined || st.things[id] !== undefined || existing.revoked ? [] : Object.keys(st.pending).filter((k) => st.pending[k]!.deviceId === id);
  let replaced = false;
  if (existing !== undefined && pendingKeys.length > 0) {
    const owner = reg.keys[cert.spkiFingerprint];
    if (owner !== undefined) throw new Refusal(409, 'KeyAlreadyRegistered', `this public key was already certified (for "${owner}"); every device needs a new key pair`);
    for (const k of pendingKeys) delete st.pending[k];
    existing = { ...existing, current: { ...existing.current, revokedAt: new Date(o.now).toISOString() } };
    reg.crlNumber += 1;
    replaced = true;
  } else if (existing !== undefined && !o.allowReprovision) {
    const why = st.things[id] !== undefined ? 'is already provisioned' : existing.revoked ? 'is revoked' : 'already has a certificate';
    throw new Refusal(409, 'ResourceAlreadyExists', `device "${id}" ${why}; one certificate per device id`);
  }
  const owner = reg.keys[cert.spkiFingerprint];
  if (owner !== undefined) throw new Refusal(409, 'KeyAlreadyRegistered', `this public key was already certified (for "${owner}"); every device needs a new key pair`);
  const entry = {
    serialNumber: cert.serialNumber,
    fingerprint: cert.fingerprint,
    spkiFingerprint: cert.spkiFingerprint,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    issuedAt: new Date(o.now).toISOString(),
  };
  reg.devices[id] = existing === undefined ? { current: entry, previous: [], revoked: false } : { current: entry, previous: [...existing.previous, existing.current], revoked: false };
  reg.keys[cert.spkiFingerprint] = id;
  if (existing !== undefined) delete st.things[id];
  st.pending[tokenKey(o.token)] = { deviceId: id, certificateId: certificateIdOf(cert), serialNumber: cert.serialNumber, expiresAt: o.expiresAt };
  return replaced;
}

/** The pending entry of a token, or a Refusal (unknown, used or expired: AWS does not tell them apart). */
export function pendingFor(reg: RegistryData, token: string, now: number): PendingToken {
  const p = stateOf(reg).pending[tokenKey(token)];
  if (p === undefined || p.expiresAt <= now) {
    throw new Refusal(400, 'InvalidCertificateOwnershipToken', 'certificateOwnershipToken: unknown, already used or expired');
  }
  return p;
}

/** Records a RegisterThing (the token is spent). */
export function recordRegistered(reg: RegistryData, o: { token: string; template: string; parameters: Record<string, string>; now: number }): PendingToken {
  const p = pendingFor(reg, o.token, o.now);
  const st = stateOf(reg);
  delete st.pending[tokenKey(o.token)];
  st.things[p.deviceId] = { certificateId: p.certificateId, template: o.template, parameters: o.parameters, registeredAt: new Date(o.now).toISOString() };
  return p;
}
