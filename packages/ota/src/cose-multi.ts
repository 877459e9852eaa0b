// Multi-signer documents: COSE_Sign (RFC 9052 §4.1, tag 98) with EdDSA signers, and the threshold
// count that every TUF role applies (a document counts only valid signatures by distinct keys of
// its role). A COSE_Sign1 (§4.2) is accepted wherever a COSE_Sign is, as a document with one
// signature, so today's single-signature manifests and key sets keep verifying under threshold 1.
//
// COSE_Sign = [protected: bstr {3: content type}, unprotected: {}, payload: bstr,
//              signatures: [+ [protected: bstr {1: -8, 4: kid}, unprotected: {}, signature: bstr]]]
import { compareBytes, decodeDeterministic, encodeCbor, type CborValue } from './cbor.js';
import { COSE_ALG_EDDSA, parseCose, sigStructure as sign1Structure } from './cose.js';
import { signEd25519, verifyEd25519, type Ed25519Backend } from './ed25519.js';
import { OtaError } from './errors.js';
import { keyIdOf, toHex, type KeyPair } from './keys.js';

const TAG_SIGN = [0xd8, 0x62] as const; // tag 98, RFC 9052 §2
const EMPTY = new Uint8Array(0);

/** Default cap on the number of signatures in one document (each costs a verification). */
export const DEFAULT_MAX_SIGNATURES = 16;

/** One signature of a parsed document: its key id and the exact bytes it covers. */
export interface SignatureEntry {
  readonly kid: Uint8Array;
  readonly signature: Uint8Array;
  /** The Sig_structure bytes this signature is over (RFC 9052 §4.4). */
  readonly signed: Uint8Array;
}

/** A parsed COSE_Sign or COSE_Sign1: payload and signatures, nothing verified yet. */
export interface SignedDocument {
  readonly payload: Uint8Array;
  readonly signatures: readonly SignatureEntry[];
}

function tagged(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 2);
  out.set(TAG_SIGN);
  out.set(body, 2);
  return out;
}

/** RFC 9052 §4.4 Sig_structure for a COSE_Signature, empty external_aad. */
function signStructure(bodyProtected: Uint8Array, signProtected: Uint8Array, payload: Uint8Array): Uint8Array {
  return encodeCbor(['Signature', bodyProtected, signProtected, EMPTY, payload]);
}

/** Signs `payload` by every key into a tagged COSE_Sign (signers in the order given). */
export function signCoseMulti(payload: Uint8Array, keys: readonly KeyPair[], contentType: string): Uint8Array {
  if (!Array.isArray(keys) || keys.length === 0) throw new RangeError('keys: expected at least one key pair');
  const bodyProtected = encodeCbor(new Map<number, CborValue>([[3, contentType]]));
  const sigs = keys.map((k) => {
    const p = encodeCbor(new Map<number, CborValue>([[1, COSE_ALG_EDDSA], [4, keyIdOf(k.publicKey)]]));
    return [p, new Map(), signEd25519(signStructure(bodyProtected, p, payload), k.secretKey)] as CborValue;
  });
  return tagged(encodeCbor([bodyProtected, new Map(), payload, sigs]));
}

function headerMap(bytes: CborValue, what: string): Map<number | string, CborValue> {
  if (!(bytes instanceof Uint8Array)) throw new OtaError('MALFORMED', `${what}: expected a byte string`);
  const h = decodeDeterministic(bytes, what);
  if (!(h instanceof Map)) throw new OtaError('MALFORMED', `${what}: expected a map`);
  if (h.has(2)) throw new OtaError('UNKNOWN_CRITICAL', `${what}: crit lists extensions this verifier does not understand (RFC 9052 §3.1)`);
  return h;
}

function parseSignature(entry: CborValue, i: number, bodyProtected: Uint8Array, payload: Uint8Array): SignatureEntry {
  if (!Array.isArray(entry) || entry.length !== 3) throw new OtaError('MALFORMED', `COSE_Signature ${i}: expected an array of 3`);
  const [prot, unprot, signature] = entry as [CborValue, CborValue, CborValue];
  if (!(unprot instanceof Map) || unprot.size !== 0) throw new OtaError('MALFORMED', `COSE_Signature ${i}: the unprotected header must be empty`);
  if (!(signature instanceof Uint8Array)) throw new OtaError('MALFORMED', `COSE_Signature ${i}: signature must be a byte string`);
  const h = headerMap(prot, `COSE_Signature ${i} protected header`);
  for (const label of h.keys()) if (label !== 1 && label !== 4) throw new OtaError('UNKNOWN_CRITICAL', `COSE_Signature ${i}: unknown label ${JSON.stringify(label)}`);
  if (h.get(1) !== COSE_ALG_EDDSA) throw new OtaError('UNSUPPORTED_ALGORITHM', `COSE_Signature ${i}: alg ${String(h.get(1))} is not EdDSA (-8)`);
  const kid = h.get(4);
  if (!(kid instanceof Uint8Array) || kid.length === 0 || kid.length > 32) throw new OtaError('MALFORMED', `COSE_Signature ${i}: kid must be 1..32 bytes`);
  return { kid, signature, signed: signStructure(bodyProtected, prot as Uint8Array, payload) };
}

/**
 * Parses a tagged COSE_Sign (or COSE_Sign1) strictly: deterministic CBOR, empty unprotected
 * headers, EdDSA only, the expected content type, at most `maxSignatures` signatures.
 *
 * Nothing is verified: tools use it to show a document (`outpost ota inspect`).
 *
 * @throws {OtaError} `MALFORMED`, `UNSUPPORTED_ALGORITHM`, `UNKNOWN_CRITICAL`.
 * @example
 * ```ts
 * import { generateKeyPair, MANIFEST_CONTENT_TYPE, parseSigned, signManifest, toHex, type SignatureEntry, type SignedDocument } from '@outpost/ota';
 * const [a, b] = [generateKeyPair(), generateKeyPair()];
 * const bytes = signManifest({ vendor: 'acme', deviceClass: 'gw', version: '1.0.0', sequence: 1, securityCounter: 0,
 *   imageSize: 1, imageDigest: new Uint8Array(32) }, [a, b]);
 * const doc: SignedDocument = parseSigned(bytes, MANIFEST_CONTENT_TYPE);
 * const first: SignatureEntry | undefined = doc.signatures[0];
 * doc.signatures.length; // 2
 * toHex(first!.kid) === toHex(a.keyId); // true
 * ```
 */
export function parseSigned(bytes: Uint8Array, contentType: string, maxSignatures = DEFAULT_MAX_SIGNATURES): SignedDocument {
  if (bytes[0] === 0xd2) {
    const c = parseCose(bytes, contentType);
    return { payload: c.payload, signatures: [{ kid: c.kid, signature: c.signature, signed: sign1Structure(c.protectedBytes, c.payload) }] };
  }
  if (bytes.length < 3 || bytes[0] !== TAG_SIGN[0] || bytes[1] !== TAG_SIGN[1]) throw new OtaError('MALFORMED', 'COSE: expected tag 18 (COSE_Sign1) or 98 (COSE_Sign) at offset 0');
  const outer = decodeDeterministic(bytes.subarray(2), 'COSE_Sign');
  if (!Array.isArray(outer) || outer.length !== 4) throw new OtaError('MALFORMED', 'COSE_Sign: expected an array of 4');
  const [prot, unprot, payload, sigs] = outer as [CborValue, CborValue, CborValue, CborValue];
  if (!(unprot instanceof Map) || unprot.size !== 0) throw new OtaError('MALFORMED', 'COSE_Sign: the unprotected header must be empty (nothing unsigned is trusted)');
  if (!(payload instanceof Uint8Array)) throw new OtaError('MALFORMED', 'COSE_Sign: payload must be a byte string');
  const h = headerMap(prot, 'COSE_Sign protected header');
  for (const label of h.keys()) if (label !== 3) throw new OtaError('UNKNOWN_CRITICAL', `COSE_Sign protected header: unknown label ${JSON.stringify(label)}`);
  if (h.get(3) !== contentType) throw new OtaError('MALFORMED', `COSE content type: expected "${contentType}"`);
  if (!Array.isArray(sigs) || sigs.length === 0) throw new OtaError('MALFORMED', 'COSE_Sign: expected at least one signature');
  if (sigs.length > maxSignatures) throw new OtaError('MALFORMED', `COSE_Sign: ${sigs.length} signatures exceed the limit of ${maxSignatures}`);
  return { payload, signatures: sigs.map((s, i) => parseSignature(s, i, prot as Uint8Array, payload)) };
}

/** A role as a verifier sees it: its public keys and threshold. */
export interface RoleKeys {
  readonly keys: readonly Uint8Array[];
  readonly threshold: number;
}

/** Outcome of {@link countSignatures}: the distinct role keys whose signature verified. */
export interface SignatureCount {
  /** Hex key ids of the distinct role keys with a valid signature. */
  readonly signers: readonly string[];
  /** Why the other signatures did not count (for messages). */
  readonly ignored: readonly string[];
}

/**
 * Counts the valid signatures by distinct keys of `role` (TUF 5.3.4: a key counts once, however
 * often it signed; a signature by another key or a revoked one does not count, nor does one that
 * does not verify).
 */
export function countSignatures(doc: SignedDocument, role: RoleKeys, revoked: readonly string[], backend?: Ed25519Backend): SignatureCount {
  const byKid = new Map<string, Uint8Array>();
  for (const k of role.keys) byKid.set(toHex(keyIdOf(k)), k);
  const signers = new Set<string>();
  const ignored: string[] = [];
  for (const s of doc.signatures) {
    const kid = toHex(s.kid);
    const key = byKid.get(kid);
    if (revoked.includes(kid)) ignored.push(`${kid}: revoked`);
    else if (key === undefined) ignored.push(`${kid}: not a key of this role`);
    else if (signers.has(kid)) ignored.push(`${kid}: counted already`);
    else if (!verifyEd25519(s.signature, s.signed, key, backend)) ignored.push(`${kid}: signature does not verify`);
    else signers.add(kid);
  }
  return { signers: [...signers].sort(), ignored };
}

/**
 * Verifies that `doc` carries at least `role.threshold` valid signatures by distinct keys of the
 * role. With one signature and threshold 1, the refusal keeps the single-signature codes
 * (`REVOKED_KEY`, `UNKNOWN_KEY`, `SIGNATURE_INVALID`); otherwise it is `THRESHOLD_NOT_MET`.
 *
 * @throws {OtaError}
 */
export function requireThreshold(doc: SignedDocument, role: RoleKeys, revoked: readonly string[], what: string, backend?: Ed25519Backend): SignatureCount {
  const c = countSignatures(doc, role, revoked, backend);
  if (c.signers.length >= role.threshold && role.threshold >= 1) return c;
  if (doc.signatures.length === 1 && role.threshold === 1) {
    const why = c.ignored[0] ?? '';
    const kid = toHex((doc.signatures[0] as SignatureEntry).kid);
    if (why.endsWith('revoked')) throw new OtaError('REVOKED_KEY', `${what}: signed by revoked key ${kid}`);
    if (why.endsWith('not a key of this role')) throw new OtaError('UNKNOWN_KEY', `${what}: signed by unknown key ${kid}`);
    throw new OtaError('SIGNATURE_INVALID', `${what}: signature by ${kid} does not verify`);
  }
  throw new OtaError('THRESHOLD_NOT_MET', `${what}: ${c.signers.length} valid signature(s) by distinct keys of the role, ${role.threshold} required (${c.ignored.join('; ') || 'no others'})`);
}

/** Sorts and de-duplicates public keys (a role's key list as stored). */
export function uniqueKeys(keys: readonly Uint8Array[]): Uint8Array[] {
  const out = [...keys].sort(compareBytes);
  return out.filter((k, i) => i === 0 || compareBytes(k, out[i - 1] as Uint8Array) !== 0);
}

/**
 * Adds a signature by `key` to a COSE_Sign document (a root, a manifest or a timestamp signed by
 * several holders in turn, each with their own key offline). The payload and the other
 * signatures are kept byte for byte; nothing is verified here.
 *
 * @throws {OtaError} `MALFORMED` for a COSE_Sign1 (it holds one signature), a non-COSE_Sign
 *   document, or a key that already signed.
 * @example
 * ```ts
 * import { addCoseSignature, generateKeyPair, signRoot, trustFromRoot, type RootMetadata } from '@outpost/ota';
 * const [a, b, release] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
 * const root: RootMetadata = { version: 1, expiresAt: 2_000_000_000, root: { keys: [a.publicKey, b.publicKey], threshold: 2 },
 *   targets: { keys: [release.publicKey], threshold: 1 }, timestamp: { keys: [], threshold: 0 } };
 * const byA = signRoot(root, [a]);             // holder A signs…
 * const byBoth = addCoseSignature(byA, b);     // …then holder B adds theirs
 * trustFromRoot(byBoth).roles?.rootThreshold; // 2
 * ```
 */
export function addCoseSignature(document: Uint8Array, key: KeyPair): Uint8Array {
  if (!(document instanceof Uint8Array)) throw new TypeError('document: expected a Uint8Array');
  if (typeof key !== 'object' || key === null || !(key.secretKey instanceof Uint8Array)) throw new TypeError('key: expected a KeyPair');
  if (document[0] === 0xd2) throw new OtaError('MALFORMED', 'a COSE_Sign1 holds one signature: sign with every key (a COSE_Sign) to add more');
  if (document.length < 3 || document[0] !== TAG_SIGN[0] || document[1] !== TAG_SIGN[1]) throw new OtaError('MALFORMED', 'COSE: expected tag 98 (COSE_Sign) at offset 0');
  const outer = decodeDeterministic(document.subarray(2), 'COSE_Sign');
  if (!Array.isArray(outer) || outer.length !== 4 || !(outer[0] instanceof Uint8Array) || !(outer[2] instanceof Uint8Array) || !Array.isArray(outer[3])) {
    throw new OtaError('MALFORMED', 'COSE_Sign: expected [protected, unprotected, payload, signatures]');
  }
  const [bodyProtected, , payload, sigs] = outer as [Uint8Array, CborValue, Uint8Array, CborValue[]];
  const kid = keyIdOf(key.publicKey);
  const ct = headerMap(bodyProtected, 'COSE_Sign protected header').get(3);
  const parsed = parseSigned(document, typeof ct === 'string' ? ct : '', Number.MAX_SAFE_INTEGER);
  if (parsed.signatures.some((s) => compareBytes(s.kid, kid) === 0)) throw new OtaError('MALFORMED', `already signed by ${toHex(kid)}`);
  const p = encodeCbor(new Map<number, CborValue>([[1, COSE_ALG_EDDSA], [4, kid]]));
  const added = [p, new Map(), signEd25519(signStructure(bodyProtected, p, payload), key.secretKey)] as CborValue;
  return tagged(encodeCbor([bodyProtected, new Map(), payload, [...sigs, added]]));
}
