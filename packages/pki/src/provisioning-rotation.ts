// Certificate rotation, the service side (an Outpost extension of the fleet provisioning API:
// AWS has no device-initiated rotation; its users call CreateCertificateFromCsr from the
// device's own identity). A device connected with its current certificate publishes on
//   $aws/certificates/rotate/<id>/create-from-csr/{json,cbor}  { certificateSigningRequest }
//     → accepted { certificateId, certificatePem }  (the new certificate, pending)
//   $aws/certificates/rotate/<id>/confirm/{json,cbor}          { certificateId }
//     → accepted { certificateId, revokedSerialNumbers }  (pending → current; the old revoked)
// The broker ACL (`pattern readwrite $aws/certificates/rotate/%u/#`) lets only the client whose
// certificate CN is <id> publish there, so the topic level names the requester; the CSR's CN
// must equal it. The pending certificate is stored in the device's `previous` list (so an
// operator's revokeDevice reaches it too) and named in `provisioning.rotations[id]`.

import type { RegistryData } from './ca-dir.js';
import type { DeviceCertificate } from './certificates.js';
import { Refusal, certificateIdOf, stateOf } from './provisioning-state.js';

/** A rotated certificate waiting for the device's confirmation. */
export interface PendingRotation {
  readonly certificateId: string;
  readonly serialNumber: string;
}

function rotations(reg: RegistryData): Record<string, PendingRotation> {
  const st = stateOf(reg) as { rotations?: Record<string, PendingRotation> };
  return (st.rotations ??= {});
}

function activeDevice(reg: RegistryData, id: string): RegistryData['devices'][string] {
  const d = reg.devices[id];
  if (d === undefined) throw new Refusal(404, 'NotFound', `device "${id}" is not registered; provision it first`);
  if (d.revoked) throw new Refusal(403, 'NotAllowed', `device "${id}" is revoked`);
  return d;
}

const idOfFingerprint = (fp: string): string => fp.replaceAll(':', '').toLowerCase();

/**
 * Records a rotated certificate as pending. An earlier pending rotation of the same device (its
 * answer was lost, or the device gave up on it) is revoked in the same commit: returns true
 * when the CRL must be rewritten.
 */
export function recordRotationIssued(reg: RegistryData, o: { cert: DeviceCertificate; now: number }): boolean {
  const id = o.cert.deviceId;
  const d = activeDevice(reg, id);
  const owner = reg.keys[o.cert.spkiFingerprint];
  if (owner !== undefined) throw new Refusal(409, 'KeyAlreadyRegistered', `this public key was already certified (for "${owner}"); a rotation needs a new key pair`);
  const rot = rotations(reg);
  const earlier = rot[id];
  const at = new Date(o.now).toISOString();
  const previous = earlier === undefined ? d.previous : d.previous.map((c) => (c.serialNumber === earlier.serialNumber && c.revokedAt === undefined ? { ...c, revokedAt: at } : c));
  const cert = o.cert;
  previous.push({ serialNumber: cert.serialNumber, fingerprint: cert.fingerprint, spkiFingerprint: cert.spkiFingerprint, notBefore: cert.notBefore.toISOString(), notAfter: cert.notAfter.toISOString(), issuedAt: at });
  reg.devices[id] = { ...d, previous };
  reg.keys[cert.spkiFingerprint] = id;
  rot[id] = { certificateId: certificateIdOf(cert), serialNumber: cert.serialNumber };
  if (earlier !== undefined) reg.crlNumber += 1;
  return earlier !== undefined;
}

/**
 * The device confirmed its rotated certificate (from a connection made with it): pending →
 * current, the old current into `previous` and, with `revokeOld`, revoked. A confirmation of the
 * certificate that is already current (the answer was lost) is accepted again and changes nothing.
 */
export function recordRotationConfirmed(reg: RegistryData, o: { deviceId: string; certificateId: string; now: number; revokeOld: boolean }): { revoked: string[] } {
  const d = activeDevice(reg, o.deviceId);
  if (idOfFingerprint(d.current.fingerprint) === o.certificateId) return { revoked: [] };
  const rot = rotations(reg);
  const p = rot[o.deviceId];
  const entry = p === undefined || p.certificateId !== o.certificateId ? undefined : d.previous.find((c) => c.serialNumber === p.serialNumber);
  if (entry === undefined) throw new Refusal(404, 'NotFound', `no pending rotation of "${o.deviceId}" with certificateId ${o.certificateId.slice(0, 16)}…`);
  const old = o.revokeOld && d.current.revokedAt === undefined ? { ...d.current, revokedAt: new Date(o.now).toISOString() } : d.current;
  reg.devices[o.deviceId] = { current: entry, previous: [...d.previous.filter((c) => c !== entry), old], revoked: false };
  delete rot[o.deviceId];
  if (old === d.current) return { revoked: [] };
  reg.crlNumber += 1;
  return { revoked: [d.current.serialNumber] };
}
