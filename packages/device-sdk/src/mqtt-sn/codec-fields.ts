// Field helpers shared by the MQTT-SN decoder and encoder: §5.3.4 Flags, QoS, checked field
// readers for the encoder, and the copy/alloc primitives. Internal.
import { describe, utf8 } from './bytes.js';
import { MsgType, type MqttSnMessage, type MqttSnQoS } from './messages.js';

/** A copy of bytes[from, to), also when `bytes` is a Node Buffer (whose slice() is a view). */
export const copyOut = (bytes: Uint8Array, from: number, to: number): Uint8Array => Uint8Array.prototype.slice.call(bytes, from, to);

export const TYPE_NAMES = new Map<number, MqttSnMessage['type']>(Object.entries(MsgType).map(([k, v]) => [v, k as MqttSnMessage['type']]));

// §5.3.4 Flags
export const DUP = 0x80;
export const RETAIN = 0x10;
export const WILL = 0x08;
export const CLEAN = 0x04;

export function qosFromFlags(f: number): MqttSnQoS {
  const q = (f >> 5) & 0x03;
  return q === 3 ? -1 : (q as 0 | 1 | 2);
}
export function qosToFlags(q: MqttSnQoS): number {
  return (q === -1 ? 3 : q) << 5;
}

export function fail(field: string, expected: string, got: unknown): never {
  throw new TypeError(`encodeMessage: ${field}: expected ${expected}, got ${describe(got)}`);
}
export function int(v: unknown, field: string, max: number): number {
  if (typeof v !== 'number') fail(field, `an integer 0…${max}`, v);
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`encodeMessage: ${field}: expected an integer 0…${max}, got ${String(v)}`);
  return v;
}
export function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') fail(field, 'a boolean', v);
  return v;
}
export function text(v: unknown, field: string): Uint8Array {
  if (typeof v !== 'string') fail(field, 'a string', v);
  return utf8(v);
}
export function bytesOf(v: unknown, field: string): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(field, 'a Uint8Array', v);
  return v;
}
export function qosOf(v: unknown, field: string, allowMinus1: boolean): MqttSnQoS {
  if (typeof v !== 'number') fail(field, 'a QoS number', v);
  if (v !== 0 && v !== 1 && v !== 2 && !(allowMinus1 && v === -1)) throw new RangeError(`encodeMessage: ${field}: expected ${allowMinus1 ? '−1, ' : ''}0, 1 or 2, got ${String(v)}`);
  return v;
}
export function shortName(v: unknown, field: string): [number, number] {
  if (typeof v !== 'string') fail(field, 'a 2-character string', v);
  const a = v.charCodeAt(0);
  const b = v.charCodeAt(1);
  if (v.length !== 2 || a > 0xff || b > 0xff) throw new RangeError(`encodeMessage: ${field}: a short topic name is exactly 2 one-byte characters, got ${JSON.stringify(v)}`);
  return [a, b];
}


// Node's Buffer.allocUnsafe skips the zero fill (every byte is written by the encoder) and
// draws small messages from its pool; elsewhere a plain Uint8Array.
// (Returned as a plain Uint8Array view: a Buffer's slice() would alias where callers expect a copy.)
export const allocOut: (n: number) => Uint8Array = typeof Buffer === 'function'
  ? (n) => {
      const b = Buffer.allocUnsafe(n);
      return new Uint8Array(b.buffer, b.byteOffset, n);
    }
  : (n) => new Uint8Array(n);
