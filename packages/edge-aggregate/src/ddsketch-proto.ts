// Datadog's DDSketch protobuf encoding (DataDog/sketches-go `ddsketch.proto`, which
// @datadog/sketches-js and the Datadog agent read):
//   DDSketch     { IndexMapping mapping = 1; Store positiveValues = 2; Store negativeValues = 3; double zeroCount = 4; }
//   IndexMapping { double gamma = 1; double indexOffset = 2; Interpolation interpolation = 3; }  (NONE = 0: logarithmic)
//   Store        { map<sint32, double> binCounts = 1; repeated double contiguousBinCounts = 2 [packed]; sint32 contiguousBinIndexOffset = 3; }
// A pure codec over a plain state; the decoder is bounded (bytes, bins, index range) and
// reports malformed input as one typed error.
import { EdgeAggregateError } from './errors.js';

/** A store as it crosses the wire: bins `counts[k]` at index `offset + k`. */
export interface SketchStoreState {
  readonly offset: number;
  readonly counts: Float64Array;
}

/** The serialisable state of a DDSketch (what the protobuf carries). */
export interface SketchState {
  readonly gamma: number;
  readonly indexOffset: number;
  readonly positive: SketchStoreState;
  readonly negative: SketchStoreState;
  readonly zeroCount: number;
}

/** Limits of the decoder. */
export interface SketchDecodeLimits {
  /** Largest encoding accepted, bytes. */
  readonly maxBytes: number;
  /** Largest span of bin indexes per store (a dense store allocates the whole span). */
  readonly maxBins: number;
}

class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  varint(v: number): void {
    this.room(10);
    let x = v;
    while (x > 0x7f) {
      this.buf[this.len++] = (x & 0x7f) | 0x80;
      x = Math.floor(x / 128);
    }
    this.buf[this.len++] = x;
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  double(v: number): void {
    this.room(8);
    this.view.setFloat64(this.len, v, true);
    this.len += 8;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1);
const unzigzag = (n: number): number => (n % 2 === 0 ? n / 2 : -(n + 1) / 2);

function encodeStore(s: SketchStoreState): Uint8Array {
  const w = new Writer();
  // Trim empty bins at both ends: the wire carries only the occupied span.
  let lo = 0;
  let hi = s.counts.length;
  while (lo < hi && s.counts[lo] === 0) lo++;
  while (hi > lo && s.counts[hi - 1] === 0) hi--;
  if (hi > lo) {
    const packed = new Writer();
    for (let k = lo; k < hi; k++) packed.double(s.counts[k] as number);
    w.tag(2, 2);
    w.bytes(packed.finish());
    w.tag(3, 0);
    w.varint(zigzag(s.offset + lo));
  }
  return w.finish();
}

/** Encodes a sketch state as Datadog's DDSketch protobuf message. */
export function encodeSketch(state: SketchState): Uint8Array {
  const mapping = new Writer();
  mapping.tag(1, 1);
  mapping.double(state.gamma);
  mapping.tag(2, 1);
  mapping.double(state.indexOffset);
  // interpolation NONE (0) is the proto3 default and is omitted, as protobuf.js does
  const w = new Writer();
  w.tag(1, 2);
  w.bytes(mapping.finish());
  w.tag(2, 2);
  w.bytes(encodeStore(state.positive));
  w.tag(3, 2);
  w.bytes(encodeStore(state.negative));
  if (state.zeroCount !== 0) {
    w.tag(4, 1);
    w.double(state.zeroCount);
  }
  return w.finish();
}

function malformed(what: string, offset: number): EdgeAggregateError {
  return new EdgeAggregateError('STATE_INVALID', `DDSketch protobuf: ${what} at offset ${offset}`);
}

class Reader {
  pos: number;
  constructor(private readonly b: Uint8Array, private readonly view: DataView, start: number, readonly end: number) {
    this.pos = start;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw malformed('truncated varint', this.pos);
      const byte = this.b[this.pos++] as number;
      result += (byte & 0x7f) * mul;
      if ((byte & 0x80) === 0) {
        if (result > Number.MAX_SAFE_INTEGER) throw malformed('varint out of range', this.pos);
        return result;
      }
      mul *= 128;
    }
    throw malformed('varint longer than 10 bytes', this.pos);
  }

  double(): number {
    if (this.pos + 8 > this.end) throw malformed('truncated double', this.pos);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  sub(): Reader {
    const n = this.varint();
    if (this.pos + n > this.end) throw malformed(`length ${n} past the end`, this.pos);
    const r = new Reader(this.b, this.view, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  /** The next field's number and wire type (`at` = where its key starts). */
  tag(): { field: number; wire: number; at: number } {
    const at = this.pos;
    const key = this.varint();
    return { field: Math.floor(key / 8), wire: key % 8, at };
  }

  /** Skips a field this decoder does not use (forward compatibility); field 0 is malformed. */
  skipField(field: number, wire: number, at: number): void {
    if (field === 0) throw malformed('field number 0', at);
    this.skip(wire);
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.double();
    else if (wire === 2) this.sub();
    else if (wire === 5) {
      if (this.pos + 4 > this.end) throw malformed('truncated fixed32', this.pos);
      this.pos += 4;
    } else throw malformed(`unsupported wire type ${wire}`, this.pos);
  }
}

function count(v: number, at: number): number {
  if (!Number.isFinite(v) || v < 0) throw malformed(`bin count ${v} is not a finite count ≥ 0`, at);
  return v;
}

function decodeStore(r: Reader, limits: SketchDecodeLimits): SketchStoreState {
  const sparse = new Map<number, number>();
  let contiguous: number[] = [];
  let contiguousOffset = 0;
  while (r.pos < r.end) {
    const { field, wire, at } = r.tag();
    if (field === 1 && wire === 2) {
      const e = r.sub(); // map entry { sint32 key = 1; double value = 2; }
      let index = 0;
      let value = 0;
      while (e.pos < e.end) {
        const k = e.varint();
        if (k === 8) index = unzigzag(e.varint());
        else if (k === 17) value = count(e.double(), e.pos);
        else e.skip(k % 8);
      }
      sparse.set(index, (sparse.get(index) ?? 0) + value);
    } else if (field === 2 && wire === 2) {
      const p = r.sub();
      if ((p.end - p.pos) % 8 !== 0) throw malformed('packed doubles not a multiple of 8 bytes', p.pos);
      contiguous = [];
      while (p.pos < p.end) contiguous.push(count(p.double(), p.pos));
    } else if (field === 2 && wire === 1) {
      contiguous.push(count(r.double(), r.pos)); // unpacked repeated double, also valid protobuf
    } else if (field === 3 && wire === 0) {
      contiguousOffset = unzigzag(r.varint());
    } else r.skipField(field, wire, at);
  }
  let lo = contiguous.length > 0 ? contiguousOffset : Infinity;
  let hi = contiguous.length > 0 ? contiguousOffset + contiguous.length - 1 : -Infinity;
  for (const i of sparse.keys()) {
    if (i < lo) lo = i;
    if (i > hi) hi = i;
  }
  if (hi < lo) return { offset: 0, counts: new Float64Array(0) };
  if (hi - lo + 1 > limits.maxBins) throw malformed(`bin index span ${hi - lo + 1} over maxBins ${limits.maxBins}`, r.pos);
  const counts = new Float64Array(hi - lo + 1);
  contiguous.forEach((c, k) => {
    counts[contiguousOffset + k - lo] = (counts[contiguousOffset + k - lo] as number) + c;
  });
  for (const [i, c] of sparse) counts[i - lo] = (counts[i - lo] as number) + c;
  return { offset: lo, counts };
}

/**
 * Decodes Datadog's DDSketch protobuf message. Unknown fields are skipped (forward compatible);
 * the mapping must be logarithmic (interpolation NONE) with γ > 1.
 *
 * @throws EdgeAggregateError `STATE_INVALID` for malformed input, an unsupported mapping or a
 * limit exceeded; never anything else.
 */
export function decodeSketch(bytes: Uint8Array, limits: SketchDecodeLimits): SketchState {
  if (bytes.length > limits.maxBytes) throw new EdgeAggregateError('STATE_INVALID', `DDSketch protobuf: ${bytes.length} bytes over maxBytes ${limits.maxBytes}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(bytes, view, 0, bytes.length);
  let gamma: number | undefined;
  let indexOffset = 0;
  let interpolation = 0;
  const empty: SketchStoreState = { offset: 0, counts: new Float64Array(0) };
  let positive = empty;
  let negative = empty;
  let zeroCount = 0;
  while (r.pos < r.end) {
    const { field, wire, at } = r.tag();
    if (field === 1 && wire === 2) {
      const m = r.sub();
      while (m.pos < m.end) {
        const k = m.varint();
        if (k === 9) gamma = m.double();
        else if (k === 17) indexOffset = m.double();
        else if (k === 24) interpolation = m.varint();
        else m.skip(k % 8);
      }
    } else if (field === 2 && wire === 2) positive = decodeStore(r.sub(), limits);
    else if (field === 3 && wire === 2) negative = decodeStore(r.sub(), limits);
    else if (field === 4 && wire === 1) zeroCount = count(r.double(), r.pos);
    else r.skipField(field, wire, at);
  }
  if (gamma === undefined || !Number.isFinite(gamma) || gamma <= 1) throw malformed(`mapping gamma ${String(gamma)} (expected a finite γ > 1)`, bytes.length);
  if (interpolation !== 0) throw malformed(`mapping interpolation ${interpolation} (only logarithmic, NONE = 0, is supported)`, bytes.length);
  if (!Number.isInteger(indexOffset) || Math.abs(indexOffset) > 2 ** 31) throw malformed(`mapping indexOffset ${indexOffset} (expected an integer)`, bytes.length);
  return { gamma, indexOffset, positive, negative, zeroCount };
}
