// The two facts node:crypto's X509Certificate does not expose in Node 20: a certificate's
// signature algorithm and its basicConstraints pathLenConstraint. A minimal DER walk over the
// RFC 5280 §4.1 structure; anything that does not parse is reported as `undefined` and the
// caller refuses the certificate. Internal: not exported from the package.

interface Tlv {
  readonly tag: number;
  /** Offset of the value. */
  readonly start: number;
  /** Offset just past the value. */
  readonly end: number;
}

/** X.690 §8.1: one tag-length-value at `at`, definite lengths only (DER). */
function tlv(der: Uint8Array, at: number, limit: number): Tlv | undefined {
  if (at + 2 > limit) return undefined;
  const tag = der[at]!;
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  const end = start + len;
  return end > limit ? undefined : { tag, start, end };
}

/** X.690 §8.19: dotted text of an OBJECT IDENTIFIER value. */
function oidText(der: Uint8Array, t: Tlv): string {
  const parts: number[] = [];
  let v = 0;
  for (let i = t.start; i < t.end; i++) {
    v = v * 128 + (der[i]! & 0x7f);
    if ((der[i]! & 0x80) === 0) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** The children of a constructed value. */
function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const t = tlv(der, at, parent.end);
    if (t === undefined) return out;
    out.push(t);
    at = t.end;
  }
  return out;
}

/** RFC 5280 §4.1.1.2: the OID of `signatureAlgorithm` in Certificate, or `undefined`. */
export function signatureAlgorithmOid(der: Uint8Array): string | undefined {
  const cert = tlv(der, 0, der.length);
  if (cert === undefined || cert.tag !== 0x30) return undefined;
  const alg = children(der, cert)[1];
  if (alg === undefined || alg.tag !== 0x30) return undefined;
  const oid = children(der, alg)[0];
  return oid !== undefined && oid.tag === 0x06 ? oidText(der, oid) : undefined;
}

/**
 * RFC 5280 §4.2.1.9: the basicConstraints pathLenConstraint, `null` when the extension or the
 * field is absent (no limit), `undefined` when the certificate does not parse.
 */
export function pathLenConstraint(der: Uint8Array): number | null | undefined {
  const cert = tlv(der, 0, der.length);
  if (cert === undefined) return undefined;
  const tbs = children(der, cert)[0];
  if (tbs === undefined || tbs.tag !== 0x30) return undefined;
  const exts = children(der, tbs).find((t) => t.tag === 0xa3); // [3] EXPLICIT Extensions
  if (exts === undefined) return null;
  const list = children(der, exts)[0];
  if (list === undefined) return undefined;
  for (const ext of children(der, list)) {
    const [id, ...rest] = children(der, ext);
    if (id === undefined || oidText(der, id) !== '2.5.29.19') continue;
    const value = rest[rest.length - 1]; // extnValue OCTET STRING (after the optional critical flag)
    if (value === undefined || value.tag !== 0x04) return undefined;
    const seq = tlv(der, value.start, value.end);
    if (seq === undefined) return undefined;
    const len = children(der, seq).find((t) => t.tag === 0x02);
    if (len === undefined) return null;
    let n = 0;
    for (let i = len.start; i < len.end; i++) n = n * 256 + der[i]!;
    return n;
  }
  return null;
}
