// Big-endian field helpers (MQTT-SN 1.2 §5.2: multi-byte fields are big-endian) and UTF-8.
// Internal: not exported from the subpath.

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** Reads an unsigned 16-bit big-endian integer. */
export function readU16BE(view: DataView, offset: number): number {
  return view.getUint16(offset, false);
}

/** Writes an unsigned 16-bit big-endian integer. */
export function writeU16BE(view: DataView, offset: number, value: number): void {
  view.setUint16(offset, value, false);
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function utf8(s: string): Uint8Array {
  return enc.encode(s);
}

/** Decodes UTF-8; returns undefined on invalid sequences (the caller raises with the offset). */
export function fromUtf8(bytes: Uint8Array): string | undefined {
  try {
    return dec.decode(bytes);
  } catch {
    return undefined;
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return `a Uint8Array(${v.length})`;
  const t = typeof v;
  if (t === 'string') return `a string`;
  if (t === 'object') return 'an object';
  return t === 'number' ? `the number ${String(v)}` : t;
}
