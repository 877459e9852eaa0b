// Bounded, iterative parsing of untrusted payloads. Nothing here recurses on the input: the
// nesting of JSON text and CBOR items is measured by a byte scan before the parser runs, and the
// parsed document is copied into prototype-free objects by a loop with its own stack. A hostile
// payload meets a limit (a PipelineError with a reason), never the call-stack limit, a prototype
// setter or a user-supplied toString. Internal to the decoder.
import { isUtf8 } from 'node:buffer';
import { PipelineError } from './errors.js';
import { storable } from './schema.js';
import { describe } from './validate.js';

/** Per-decoder limits (see DecodeOptions for the defaults). */
export interface Limits {
  readonly maxDepth: number;
  readonly maxKeys: number;
  readonly maxStringLength: number;
}

type Code = 'DECODE_FAILED' | 'SCHEMA_INVALID';

function fail(code: Code, message: string): never {
  throw new PipelineError(code, message);
}

/**
 * Throws `DECODE_FAILED` when JSON text nests deeper than `maxDepth` (brackets outside strings),
 * before `JSON.parse` sees it.
 */
export function scanJsonDepth(b: Uint8Array, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i] as number;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) fail('DECODE_FAILED', `JSON nests deeper than maxDepth ${maxDepth} at offset ${i}`);
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
}

/**
 * The CBOR tags the decoder accepts: RFC 8949 §3.4.1 date/time string, §3.4.2 epoch time, and
 * RFC 8746 §2.1 tag 64 (uint8 typed array: how cbor-x, thus the edge buffer, sends byte arrays).
 */
const CBOR_TAGS = new Set([0, 1, 64]);

function readArg(b: Uint8Array, i: number, ai: number): [number, number] {
  // RFC 8949 §3: the argument follows the initial byte in 0, 1, 2, 4 or 8 bytes.
  if (ai < 24) return [ai, i];
  const n = ai === 24 ? 1 : ai === 25 ? 2 : ai === 26 ? 4 : ai === 27 ? 8 : 0;
  if (n === 0) fail('DECODE_FAILED', `CBOR: reserved additional information ${ai} at offset ${i - 1}`);
  if (i + n > b.length) fail('DECODE_FAILED', `CBOR: truncated argument at offset ${i}`);
  let v = 0;
  for (let k = 0; k < n; k++) v = v * 256 + (b[i + k] as number);
  return [v, i + n];
}

function asciiOrUtf8(b: Uint8Array, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if ((b[k] as number) >= 0x80) return isUtf8(b.subarray(from, to));
  return true; // ASCII, the usual case, without a view per string
}

/**
 * One pass over CBOR bytes (RFC 8949 §3) without building values: well-formed, one item, nesting
 * at most `maxDepth`, containers of at most `maxKeys` entries, only the tags in `CBOR_TAGS` (no
 * tag chains). Throws `DECODE_FAILED` naming the offset; afterwards the recursive decoder only
 * ever sees bounded input.
 */
export function scanCbor(b: Uint8Array, lim: Limits): void {
  const open: number[] = []; // items still expected per open container; -1 = indefinite length
  let i = 0;
  let afterTag = false;
  for (;;) {
    if (i >= b.length) fail('DECODE_FAILED', `CBOR: truncated at offset ${i}`);
    const at = i;
    const ib = b[i++] as number;
    const major = ib >> 5;
    const ai = ib & 31;
    let done = true; // this item is complete (not a container left open, not a tag prefix)
    if (ib === 0xff) {
      if (open[open.length - 1] !== -1 || afterTag) fail('DECODE_FAILED', `CBOR: unexpected break at offset ${at}`);
      open.pop();
    } else if (ai === 31) {
      // RFC 8949 §3.2: indefinite-length strings, arrays and maps, closed by a break (0xff).
      if (major < 2 || major > 5) fail('DECODE_FAILED', `CBOR: indefinite length on major type ${major} at offset ${at}`);
      if (open.length >= lim.maxDepth) fail('DECODE_FAILED', `CBOR nests deeper than maxDepth ${lim.maxDepth} at offset ${at}`);
      open.push(-1);
      done = false;
    } else {
      const [arg, next] = readArg(b, i, ai);
      i = next;
      if (major === 2 || major === 3) {
        if (arg > b.length - i) fail('DECODE_FAILED', `CBOR: string of ${arg} bytes runs past the end at offset ${at}`);
        // RFC 8949 §3.1: a text string is UTF-8; invalid bytes are refused, not replaced.
        if (major === 3 && !asciiOrUtf8(b, i, i + arg)) fail('DECODE_FAILED', `CBOR: text string at offset ${at} is not valid UTF-8`);
        i += arg;
      } else if (major === 4 || major === 5) {
        if (arg > lim.maxKeys) fail('SCHEMA_INVALID', `CBOR: a container of ${arg} entries exceeds maxKeys ${lim.maxKeys} at offset ${at}`);
        if (open.length >= lim.maxDepth) fail('DECODE_FAILED', `CBOR nests deeper than maxDepth ${lim.maxDepth} at offset ${at}`);
        if (arg > 0) {
          open.push(major === 5 ? arg * 2 : arg);
          done = false;
        }
      } else if (major === 6) {
        if (afterTag) fail('DECODE_FAILED', `CBOR: nested tags at offset ${at}`);
        if (!CBOR_TAGS.has(arg)) fail('DECODE_FAILED', `CBOR: tag ${arg} is not supported (only 0 and 1, dates, and 64, bytes) at offset ${at}`);
        afterTag = true;
        continue;
      } else if (major === 7 && ai === 24 && arg < 32) {
        fail('DECODE_FAILED', `CBOR: invalid simple value encoding at offset ${at}`); // RFC 8949 §3.3
      }
    }
    afterTag = false;
    if (!done) continue;
    // The item is complete: count it against the containers it closes.
    while (open.length > 0) {
      const top = open.length - 1;
      if (open[top] === -1) break;
      const left = (open[top] as number) - 1;
      if (left > 0) {
        open[top] = left;
        break;
      }
      open.pop();
    }
    if (open.length === 0) break;
  }
  if (i !== b.length) fail('DECODE_FAILED', `CBOR: ${b.length - i} bytes after the first item at offset ${i}`);
}

/** Byte strings become base64url text without padding (RFC 4648 §5), as SenML JSON carries `vd`. */
export function base64url(v: Uint8Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64url');
}

function checkString(lim: Limits, s: string, what: string): string {
  if (s.length > lim.maxStringLength) fail('SCHEMA_INVALID', `${what} of ${s.length} characters exceeds maxStringLength ${lim.maxStringLength}`);
  // PostgreSQL text/JSONB and JSON text hold neither NUL nor a lone surrogate (CBOR text can).
  if (!storable(s)) fail('SCHEMA_INVALID', `${what} holds NUL or a lone surrogate, which no store can keep`);
  return s;
}

/** A leaf as JSON can hold it: checked strings and finite numbers; bytes, dates and big integers as text or numbers. */
function leaf(lim: Limits, v: unknown): unknown {
  if (typeof v === 'string') return checkString(lim, v, 'a string');
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fail('SCHEMA_INVALID', `a number is ${v}; only finite numbers are accepted`);
    return v;
  }
  if (typeof v === 'boolean' || v === null) return v;
  if (v === undefined) return null; // CBOR `undefined` (simple value 23)
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : checkString(lim, v.toString(), 'an integer');
  if (v instanceof Uint8Array) return base64url(v);
  if (v instanceof Date) {
    const t = v.getTime();
    if (Number.isNaN(t)) fail('SCHEMA_INVALID', 'an invalid CBOR date');
    return v.toISOString();
  }
  return fail('DECODE_FAILED', `unsupported value of type ${describe(v)}`);
}

type Container = Record<string, unknown> | unknown[];

function isContainer(v: unknown): v is Container {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !(v instanceof Date);
}

/**
 * Checks a freshly parsed document in one loop with its own stack (no recursion): at most
 * `maxDepth` levels, `maxKeys` entries per container, keys and strings of at most
 * `maxStringLength` that every store can hold, finite numbers. Leaves are normalised in place
 * (byte strings to base64url, CBOR dates to ISO 8601 text, big integers to numbers or text).
 * The parsers' own objects only: `__proto__` arrives as an own data key (JSON.parse) or renamed
 * (cbor-x), so reading keys never reaches a prototype setter. Returns the (normalised) root.
 */
export function checkDocument(doc: unknown, lim: Limits): unknown {
  if (!isContainer(doc)) return leaf(lim, doc);
  const stack: [Container, number][] = [[doc, 1]];
  while (stack.length > 0) {
    const [c, depth] = stack.pop() as [Container, number];
    if (depth > lim.maxDepth) fail('DECODE_FAILED', `nested deeper than maxDepth ${lim.maxDepth}`);
    if (Array.isArray(c)) {
      if (c.length > lim.maxKeys) fail('SCHEMA_INVALID', `an array of ${c.length} items exceeds maxKeys ${lim.maxKeys}`);
      for (let i = 0; i < c.length; i++) {
        const v = c[i];
        if (isContainer(v)) stack.push([v, depth + 1]);
        else c[i] = leaf(lim, v);
      }
      continue;
    }
    const proto = Object.getPrototypeOf(c) as unknown;
    if (proto !== Object.prototype && proto !== null) fail('DECODE_FAILED', `unsupported value of type ${describe(c)}`);
    const keys = Object.keys(c);
    if (keys.length > lim.maxKeys) fail('SCHEMA_INVALID', `an object of ${keys.length} keys exceeds maxKeys ${lim.maxKeys}`);
    for (const k of keys) {
      checkString(lim, k, 'a key');
      const v = c[k];
      if (isContainer(v)) stack.push([v, depth + 1]);
      else if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean' && v !== null) {
        Object.defineProperty(c, k, { value: leaf(lim, v), writable: true, enumerable: true, configurable: true }); // never through a setter
      } else leaf(lim, v);
    }
  }
  return doc;
}

/**
 * A frozen copy of a checked value whose objects have no prototype, so `__proto__`,
 * `constructor` and `prototype` are data in it, never structure. Iterative, like the check.
 */
function emptyLike(c: Container): Container {
  return Array.isArray(c) ? new Array<unknown>(c.length) : (Object.create(null) as Record<string, unknown>);
}

export function frozenCopy(v: unknown): unknown {
  if (!isContainer(v)) return v;
  const copy = emptyLike;
  const root = copy(v);
  const stack: [Container, Container][] = [[v, root]];
  const done: Container[] = [];
  while (stack.length > 0) {
    const [src, dst] = stack.pop() as [Container, Container];
    done.push(dst);
    for (const k of Object.keys(src)) {
      const x = (src as Record<string, unknown>)[k];
      if (isContainer(x)) {
        const d = copy(x);
        (dst as Record<string, unknown>)[k] = d; // dst has no prototype: a plain data key
        stack.push([x, d]);
      } else (dst as Record<string, unknown>)[k] = x;
    }
  }
  for (const d of done) Object.freeze(d);
  return root;
}
