// The wire between the caller and the codec's worker: decode inputs packed into one string,
// and the TS013 shapes (LoRaWAN TS013-1.0.0 §4.1, §4.2) the answers are checked against.
import { assertInt, describe } from './bytes.js';
import type { EncodedDownlink, PayloadCodecFailure, PayloadCodecInput, PayloadCodecResult } from './payload-codec.js';

/** What a worker gave for one message: its answer text, or one failure for all the message's inputs. */
export type LaneAnswer = { readonly out: string } | { readonly failed: PayloadCodecFailure; readonly message: string };

/** What the messages of failed results name. */
export interface AnswerContext {
  /** The codec function called (`decodeUplink`, …). */
  readonly fn: string;
  readonly maxResultBytes: number;
  readonly timeoutMs: number;
}

/**
 * Reads the worker's answer (see CONTEXT_BOOTSTRAP's run: a status char per input, a newline, a
 * JSON array of values or their tagged text, see `writer`) straight into results, each value checked against its TS013 `shape` as
 * it is read. Anything missing or malformed is CODEC_OUTPUT_INVALID for that input.
 */
export function readResults<T>(answer: LaneAnswer, count: number, shape: (r: unknown) => PayloadCodecResult<T>, ctx: AnswerContext): PayloadCodecResult<T>[] {
  const results = new Array<PayloadCodecResult<T>>(count);
  if ('failed' in answer) {
    const errors = [answer.failed === 'CODEC_TIMEOUT' ? `exceeded ${ctx.timeoutMs} ms` : answer.message];
    for (let i = 0; i < count; i++) results[i] = fail(answer.failed, errors);
    return results;
  }
  const out = answer.out;
  const nl = out.indexOf('\n');
  let values: unknown[] = [];
  try {
    const v: unknown = nl < 0 ? [] : out.charCodeAt(nl + 1) === 97 /* a */ ? readTagged(out, nl + 1) : JSON.parse(out.slice(nl + 1));
    if (Array.isArray(v)) values = v;
  } catch {
    values = [];
  }
  for (let i = 0; i < count; i++) {
    const s = i < nl && i < values.length ? out.charCodeAt(i) : 0;
    const v = values[i];
    results[i] = s === 114 /* r */ ? shape(v)
      : s === 116 /* t */ ? fail('CODEC_THREW', [String(v)])
      : s === 108 /* l */ ? fail('CODEC_OUTPUT_INVALID', [`result of ${Number(v)} bytes is over maxResultBytes ${ctx.maxResultBytes}`])
      : s === 109 /* m */ ? fail('CODEC_MISSING_FUNCTION', [`the codec defines no ${ctx.fn}()`])
      : fail('CODEC_OUTPUT_INVALID', ['no result']);
  }
  return results;
}

const f64 = new Float64Array(1);
const u16 = new Uint16Array(f64.buffer);

/**
 * Reads the tagged text the values of a message come as (see `writer` in CONTEXT_BOOTSTRAP)
 * from `start`: the same values JSON.parse would give for their JSON, built
 * without printing or parsing a number. A malformed text throws `RangeError`.
 */
export function readTagged(s: string, start: number): unknown {
  let p = start;
  const keys: string[] = [];
  const need = (n: number): void => {
    if (p + n > s.length) throw new RangeError(`tagged answer: truncated at ${p}`);
  };
  const size = (): number => {
    need(2);
    p += 2;
    return s.charCodeAt(p - 2) * 0x10000 + s.charCodeAt(p - 1);
  };
  const text = (): string => {
    const n = size();
    need(n);
    p += n;
    return s.slice(p - n, p);
  };
  const read = (depth: number): unknown => {
    need(1);
    const tag = s.charCodeAt(p++);
    switch (tag) {
      case 105: need(2); p += 2; return s.charCodeAt(p - 2) | (s.charCodeAt(p - 1) << 16); // i
      case 100: need(4); for (let j = 0; j < 4; j++) u16[j] = s.charCodeAt(p++); return f64[0]; // d
      case 115: return text(); // s
      case 106: { // j: a value as JSON text
        const t = text();
        try {
          return JSON.parse(t) as unknown;
        } catch {
          throw new RangeError(`tagged answer: bad JSON at ${p}`);
        }
      }
      case 84: return true; // T
      case 70: return false; // F
      case 110: return null; // n
      default:
    }
    if (depth > 66) throw new RangeError('tagged answer: nested too deep');
    const n = size();
    if (tag === 97) { // a
      if (n > s.length - p) throw new RangeError(`tagged answer: array of ${n} at ${p}`);
      const a = new Array<unknown>(n);
      for (let i = 0; i < n; i++) a[i] = read(depth + 1);
      return a;
    }
    if (tag !== 111) throw new RangeError(`tagged answer: unknown tag ${tag} at ${p - 3}`); // o
    const o: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      need(1);
      const isNew = s.charCodeAt(p++) === 75; // K, else k
      let k: string;
      if (isNew) keys.push((k = text()));
      else {
        const at = size();
        if (at >= keys.length) throw new RangeError(`tagged answer: key ${at} not seen at ${p}`);
        k = keys[at] as string;
      }
      const v = read(depth + 1);
      // as JSON.parse: "__proto__" is an own property, never the prototype
      if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
      else o[k] = v;
    }
    return o;
  };
  const v = read(0);
  if (p !== s.length) throw new RangeError(`tagged answer: ${s.length - p} chars left over`);
  return v;
}

export function fail(code: PayloadCodecFailure, errors: readonly string[], warnings: readonly string[] = []): { ok: false; code: PayloadCodecFailure; errors: readonly string[]; warnings: readonly string[] } {
  return { ok: false, code, errors, warnings };
}

const NONE: readonly string[] = Object.freeze([]);
function strings(v: unknown): readonly string[] {
  return Array.isArray(v) && v.length > 0 ? v.map((x) => String(x)) : NONE;
}

/** TS013 §4.1: `{ data, warnings?, errors? }`; errors win over data. */
export function dataShape(r: unknown): PayloadCodecResult<unknown> {
  if (typeof r !== 'object' || r === null) return fail('CODEC_OUTPUT_INVALID', ['expected an object { data, errors?, warnings? }']);
  const o = r as { data?: unknown; errors?: unknown; warnings?: unknown };
  const warnings = strings(o.warnings);
  const errors = strings(o.errors);
  if (errors.length > 0) return fail('CODEC_ERRORS', errors, warnings);
  if (!('data' in o)) return fail('CODEC_OUTPUT_INVALID', ['the result has no data'], warnings);
  return { ok: true, data: o.data, warnings };
}

/** TS013 §4.2: `{ bytes, fPort?, warnings?, errors? }` with bytes 0–255. */
export function downlinkShape(r: unknown): PayloadCodecResult<EncodedDownlink> {
  if (typeof r !== 'object' || r === null) return fail('CODEC_OUTPUT_INVALID', ['expected an object { bytes, fPort?, errors?, warnings? }']);
  const o = r as { bytes?: unknown; fPort?: unknown; errors?: unknown; warnings?: unknown };
  const warnings = strings(o.warnings);
  const errors = strings(o.errors);
  if (errors.length > 0) return fail('CODEC_ERRORS', errors, warnings);
  const b = o.bytes;
  if (!Array.isArray(b) || b.length > 255 || !b.every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 255)) {
    return fail('CODEC_OUTPUT_INVALID', ['bytes: expected an array of at most 255 integers 0–255'], warnings);
  }
  const fPort = o.fPort;
  if (fPort !== undefined && !(Number.isInteger(fPort) && (fPort as number) >= 1 && (fPort as number) <= 223)) {
    return fail('CODEC_OUTPUT_INVALID', [`fPort: expected an integer 1–223, got ${describe(fPort)}`], warnings);
  }
  return { ok: true, data: { bytes: Uint8Array.from(b as number[]), fPort: fPort as number | undefined }, warnings };
}

/**
 * Checks decode inputs and packs them into one string, a char per byte (fPort, length, bytes…),
 * which the context unpacks far faster than JSON; reception times travel apart as ISO strings.
 */
export function packInputs(inputs: readonly PayloadCodecInput[], first = 0): { packed: string; times: string } {
  let total = 0;
  let times: string[] | undefined;
  for (let k = 0; k < inputs.length; k++) {
    const input = inputs[k];
    const name = `inputs[${first + k}]`;
    if (typeof input !== 'object' || input === null) throw new TypeError(`${name}: expected { bytes, fPort }, got ${describe(input)}`);
    const { bytes, fPort, recvTime } = input;
    if (!(bytes instanceof Uint8Array) && !Array.isArray(bytes)) throw new TypeError(`${name}.bytes: expected a Uint8Array or an array, got ${describe(bytes)}`);
    if (bytes.length > 255) throw new RangeError(`${name}.bytes: expected at most 255 bytes, got ${bytes.length}`);
    assertInt(fPort, `${name}.fPort`, 0, 255);
    if (!(bytes instanceof Uint8Array)) {
      for (let i = 0; i < bytes.length; i++) {
        const x = bytes[i];
        // the element name is only built for an error (a template per byte was most of the packing time)
        if (!Number.isInteger(x) || (x as number) < 0 || (x as number) > 255) assertInt(x, `${name}.bytes[${i}]`, 0, 255);
      }
    }
    total += 2 + bytes.length;
    if (recvTime !== undefined) {
      if (!(recvTime instanceof Date) || Number.isNaN(recvTime.getTime())) throw new TypeError(`${name}.recvTime: expected a valid Date, got ${describe(recvTime)}`);
      times ??= inputs.map(() => '');
      times[k] = recvTime.toISOString();
    }
  }
  // Every value is 0–255, so the buffer read as latin1 is the string of one char per byte.
  const buf = Buffer.allocUnsafe(total);
  let o = 0;
  for (const { bytes, fPort } of inputs) {
    buf[o++] = fPort;
    buf[o++] = bytes.length;
    if (bytes instanceof Uint8Array) buf.set(bytes, o);
    else for (let i = 0; i < bytes.length; i++) buf[o + i] = bytes[i] as number;
    o += bytes.length;
  }
  return { packed: buf.toString('latin1', 0, total), times: times === undefined ? '' : JSON.stringify(times) };
}
