// Checksums on the job store's files, so a damaged byte is found instead of read as a different
// state (a flipped digit or letter inside a JSON value still parses). Format 2:
//   journal line:  "#" + 16 hex digits (the first 8 bytes of SHA-256 of the JSON) + " " + JSON + "\n"
//   snapshot file: "#" + 64 hex digits (SHA-256 of the JSON) + "\n" + JSON
// Format 1 (written before the checksums: a bare JSON line, a bare JSON snapshot) is still read.
import { createHash } from 'node:crypto';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });
const HASH = 0x23; // '#'

const digest = (text: string, hexChars: number): string => createHash('sha256').update(text).digest('hex').slice(0, hexChars);

/** A journal line for the JSON of one commit. */
export function frameLine(json: string): Uint8Array {
  return enc.encode(`#${digest(json, 16)} ${json}\n`);
}

/** The parsed value of one journal line (without its "\n"), or `undefined` when it is damaged or torn. */
export function readLine(bytes: Uint8Array): unknown {
  return readFramed(bytes, 16, ' ');
}

/** The snapshot file for its JSON. */
export function frameSnapshot(json: string): Uint8Array {
  return enc.encode(`#${digest(json, 64)}\n${json}`);
}

/** The parsed snapshot, or `undefined` when it is damaged. */
export function readSnapshot(bytes: Uint8Array): unknown {
  return readFramed(bytes, 64, '\n');
}

// "#" + digest + separator + JSON (format 2), or bare JSON (format 1).
function readFramed(bytes: Uint8Array, hexChars: number, separator: string): unknown {
  let text: string;
  try {
    text = dec.decode(bytes);
  } catch {
    return undefined;
  }
  let json = text;
  if (bytes[0] === HASH) {
    if (text.length < hexChars + 2 || text[hexChars + 1] !== separator) return undefined;
    json = text.slice(hexChars + 2);
    if (digest(json, hexChars) !== text.slice(1, hexChars + 1)) return undefined;
  }
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}
