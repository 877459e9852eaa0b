// A checksum around the device's small state files (boot state, trusted state): a damaged byte is
// MALFORMED instead of read as another state. Without it a flipped bit in the stored sequence or
// security counter lowers the anti-rollback floor without a word, and one in the active slot
// name ('a' ^ 0x03 = 'b') boots the other slot. Format: "OTS2" + SHA-256(body) + body, where the
// body is the file's deterministic CBOR as before; files written before the seal (the bare body)
// are still read.
import { createHash } from 'node:crypto';
import { OtaError } from './errors.js';

const MAGIC = Uint8Array.from([0x4f, 0x54, 0x53, 0x32]); // "OTS2"
const HEAD = MAGIC.length + 32;

/** The body with its seal. */
export function seal(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEAD + body.length);
  out.set(MAGIC, 0);
  out.set(createHash('sha256').update(body).digest(), MAGIC.length);
  out.set(body, HEAD);
  return out;
}

/** The body of a sealed file (its digest checked), or the bytes of an unsealed one. @throws {OtaError} `MALFORMED`. */
export function unseal(bytes: Uint8Array, what: string): Uint8Array {
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b)) return bytes;
  if (bytes.length < HEAD) throw new OtaError('MALFORMED', `${what}: truncated`);
  const body = bytes.subarray(HEAD);
  if (!createHash('sha256').update(body).digest().equals(bytes.subarray(MAGIC.length, HEAD))) {
    throw new OtaError('MALFORMED', `${what}: its checksum does not match (damaged on disk)`);
  }
  return body;
}

// Journal lines (the rollout controller's journal): "#" + the first 16 hex digits of SHA-256 of
// the JSON + " " + the JSON. A bare JSON line (written before the seal) is still read.
const lineDigest = (json: string): string => createHash('sha256').update(json).digest('hex').slice(0, 16);

/** One sealed journal line for `json`, with its newline. */
export function sealLine(json: string): string {
  return `#${lineDigest(json)} ${json}\n`;
}

/** The JSON text of a journal line (without its newline), or `undefined` when its seal does not match. */
export function unsealLine(line: string): string | undefined {
  if (!line.startsWith('#')) return line;
  if (line.length < 18 || line[17] !== ' ') return undefined;
  const json = line.slice(18);
  return lineDigest(json) === line.slice(1, 17) ? json : undefined;
}
