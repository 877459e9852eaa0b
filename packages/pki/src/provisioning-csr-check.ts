// What a provisioning request's CSR may ask for: a device id as its only subject attribute, a
// key the CA accepts, and nothing else. The certificate profile is the CA's (issueDeviceCertificate
// ignores the CSR's subject and extensions), but a CSR asking for more (SANs, CA:TRUE, key usages,
// a second CN) is refused outright: it is either a misbuilt device or an attack, and either way
// the operator should see it in the log.

import type * as X509 from '@peculiar/x509';
import { deviceIdProblem } from '@outpost/device-sdk';
import { loadX509 } from './x509-loader.js';
import { crypto, toPem } from './keys.js';

/** Longest CSR the service parses (PEM characters). An RSA-4096 CSR is about 1.7 KB. */
export const MAX_CSR_LENGTH = 8192;

/** The device id (the CSR's CN) and public key, or why the CSR is refused. */
export type CsrVerdict = { ok: true; deviceId: string; publicKeyPem: string } | { ok: false; reason: string };

const CN_OID = '2.5.4.3';

/** RFC 2986 PKCS#10: parses, verifies the self-signature, and checks the subject and extensions. */
export async function checkProvisioningCsr(csrPem: unknown): Promise<CsrVerdict> {
  if (typeof csrPem !== 'string' || csrPem.length === 0) return { ok: false, reason: 'certificateSigningRequest: expected a PEM string' };
  if (csrPem.length > MAX_CSR_LENGTH) return { ok: false, reason: `certificateSigningRequest: longer than ${MAX_CSR_LENGTH} characters` };
  const x509 = await loadX509();
  let csr: X509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch {
    return { ok: false, reason: 'certificateSigningRequest: not a PEM PKCS#10 request' };
  }
  let verified = false;
  try {
    verified = await csr.verify(crypto);
  } catch {
    verified = false;
  }
  if (!verified) return { ok: false, reason: 'certificateSigningRequest: its signature does not verify (unsupported key or tampered request)' };
  // RFC 2986 §4.1 attributes: the only one a device may send is an empty extensionRequest.
  if (csr.extensions.length > 0) {
    const names = csr.extensions.map((e) => e.type).join(', ');
    return { ok: false, reason: `certificateSigningRequest: requests extensions (${names}); the certificate profile is fixed (one CN, clientAuth, CA:FALSE) and a request for SANs, CA:TRUE or key usages is refused` };
  }
  const attrs = csr.subjectName.toJSON().flatMap((rdn) => Object.entries(rdn));
  const cns = attrs.filter(([type]) => type === 'CN' || type === CN_OID).flatMap(([, v]) => v);
  if (attrs.length !== 1 || cns.length !== 1) {
    return { ok: false, reason: `certificateSigningRequest: the subject must be exactly one CN (the device id), got "${csr.subject}"` };
  }
  const deviceId = cns[0]!;
  const problem = deviceIdProblem(deviceId);
  if (problem !== undefined) return { ok: false, reason: `certificateSigningRequest: CN: ${problem}` };
  return { ok: true, deviceId, publicKeyPem: toPem('PUBLIC KEY', new Uint8Array(csr.publicKey.rawData)) };
}
