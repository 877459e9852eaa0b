// COSE_Sign1 (RFC 9052 §4.2) with EdDSA (alg -8, RFC 9053 §2.2), tagged (tag 18, §4.2),
// protected header {1: alg, 3: content type, 4: kid}, empty unprotected header.
import { compareBytes, decodeDeterministic, encodeCbor, type CborValue } from './cbor.js';
import { signEd25519 } from './ed25519.js';
import { OtaError } from './errors.js';

/** COSE algorithm id of EdDSA (RFC 9053 §2.2). */
export const COSE_ALG_EDDSA = -8;
const TAG_SIGN1 = 0xd2; // tag 18, RFC 9052 §2
const LABEL_ALG = 1;
const LABEL_CRIT = 2;
const LABEL_CONTENT_TYPE = 3;
const LABEL_KID = 4;
const EMPTY = new Uint8Array(0);

/** The parts of a COSE_Sign1, with the exact protected and payload bytes received. */
export interface CoseSign1 {
  readonly protectedBytes: Uint8Array;
  readonly contentType: string;
  readonly kid: Uint8Array;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
}

/** RFC 9052 §4.4 Sig_structure for COSE_Sign1, empty external_aad. */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  return encodeCbor(['Signature1', protectedBytes, EMPTY, payload]);
}

/** Signs `payload` into a tagged COSE_Sign1. */
export function signCose(payload: Uint8Array, secretKey: Uint8Array, kid: Uint8Array, contentType: string): Uint8Array {
  const protectedBytes = encodeCbor(new Map<number, CborValue>([[LABEL_ALG, COSE_ALG_EDDSA], [LABEL_CONTENT_TYPE, contentType], [LABEL_KID, kid]]));
  const signature = signEd25519(sigStructure(protectedBytes, payload), secretKey);
  const body = encodeCbor([protectedBytes, new Map(), payload, signature]);
  const out = new Uint8Array(body.length + 1);
  out[0] = TAG_SIGN1;
  out.set(body, 1);
  return out;
}

/**
 * Parses a tagged COSE_Sign1 strictly. Refuses (`OtaError`): non-deterministic CBOR or the wrong
 * shape (`MALFORMED`), any algorithm but EdDSA (`UNSUPPORTED_ALGORITHM`), a `crit` header or an
 * unknown protected label (`UNKNOWN_CRITICAL`), a content type other than `contentType`.
 */
export function parseCose(bytes: Uint8Array, contentType: string): CoseSign1 {
  if (bytes.length < 2 || bytes[0] !== TAG_SIGN1) throw new OtaError('MALFORMED', 'COSE_Sign1: expected tag 18 (0xd2) at offset 0');
  const outer = decodeDeterministic(bytes.subarray(1), 'COSE_Sign1');
  if (!Array.isArray(outer) || outer.length !== 4) throw new OtaError('MALFORMED', 'COSE_Sign1: expected an array of 4');
  const [protectedBytes, unprotected, payload, signature] = outer as [CborValue, CborValue, CborValue, CborValue];
  if (!(protectedBytes instanceof Uint8Array) || !(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw new OtaError('MALFORMED', 'COSE_Sign1: protected, payload and signature must be byte strings');
  }
  if (!(unprotected instanceof Map) || unprotected.size !== 0) throw new OtaError('MALFORMED', 'COSE_Sign1: the unprotected header must be an empty map (nothing unsigned is trusted)');
  const hdr = decodeDeterministic(protectedBytes, 'COSE protected header');
  if (!(hdr instanceof Map)) throw new OtaError('MALFORMED', 'COSE protected header: expected a map');
  if (hdr.has(LABEL_CRIT)) throw new OtaError('UNKNOWN_CRITICAL', 'COSE protected header: crit lists extensions this verifier does not understand (RFC 9052 §3.1)');
  for (const label of hdr.keys()) {
    if (label !== LABEL_ALG && label !== LABEL_CONTENT_TYPE && label !== LABEL_KID) throw new OtaError('UNKNOWN_CRITICAL', `COSE protected header: unknown label ${JSON.stringify(label)}`);
  }
  const alg = hdr.get(LABEL_ALG);
  if (alg !== COSE_ALG_EDDSA) throw new OtaError('UNSUPPORTED_ALGORITHM', `COSE alg ${String(alg)} is not EdDSA (-8)`);
  const ct = hdr.get(LABEL_CONTENT_TYPE);
  if (ct !== contentType) throw new OtaError('MALFORMED', `COSE content type: expected "${contentType}", got ${JSON.stringify(typeof ct === 'string' ? ct : String(ct))}`);
  const kid = hdr.get(LABEL_KID);
  if (!(kid instanceof Uint8Array) || kid.length === 0 || kid.length > 32) throw new OtaError('MALFORMED', 'COSE kid: expected a byte string of 1..32 bytes');
  if (signature.length !== 64) throw new OtaError('SIGNATURE_INVALID', `signature: expected 64 bytes, got ${signature.length}`);
  return { protectedBytes, contentType: ct, kid, payload, signature };
}

/** Equality of public byte strings (kids, digests; nothing secret is compared). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return compareBytes(a, b) === 0;
}
