/**
 * Content formats (RFC 7252 §12.3, RFC 8428 §12 for SenML) and payload encoding.
 * CBOR through cbor-x with standard settings only (no record extension, no typed-array tags).
 */
import { Decoder, Encoder } from 'cbor-x';
import { CoapError } from './errors.js';
import { describe } from '../describe.js';

/**
 * Content-Format numbers this client encodes and decodes.
 *
 * @example
 * ```ts
 * import { ContentFormat } from '@outpost/device-sdk/coap';
 * ContentFormat['application/senml+cbor']; // 112
 * ```
 */
export const ContentFormat = {
  'text/plain': 0,
  'application/link-format': 40,
  'application/octet-stream': 42,
  'application/json': 50,
  'application/cbor': 60,
  'application/senml+json': 110,
  'application/senml+cbor': 112,
} as const;

/** A content format by name. */
export type ContentFormatName = keyof typeof ContentFormat;

/**
 * One SenML record (RFC 8428 §4). Base fields (`bn`, `bt`, …) apply to later records.
 * Exactly one value field (`v`, `vs`, `vb`, `vd`) or a sum (`s`) per record.
 *
 * @example
 * ```ts
 * const records: SenmlRecord[] = [{ bn: 'urn:dev:thermo-42:', n: 'temp', u: 'Cel', v: 21.5 }];
 * const res = await client.put('/example_data', records, { format: 'application/senml+cbor' });
 * res.value(); // [{ bn: 'urn:dev:thermo-42:', n: 'temp', u: 'Cel', v: 21.5 }]
 * ```
 */
export interface SenmlRecord {
  bn?: string;
  bt?: number;
  bu?: string;
  bv?: number;
  bs?: number;
  bver?: number;
  n?: string;
  u?: string;
  v?: number;
  vs?: string;
  vb?: boolean;
  vd?: Uint8Array;
  s?: number;
  t?: number;
  ut?: number;
}

// RFC 8428 §6 Table 6: CBOR labels.
const SENML_LABELS = { bver: -1, bn: -2, bt: -3, bu: -4, bv: -5, bs: -6, n: 0, u: 1, v: 2, vs: 3, vb: 4, s: 5, t: 6, ut: 7, vd: 8 } as const;
type SenmlKey = keyof typeof SENML_LABELS;
const SENML_BY_LABEL = new Map<number, SenmlKey>(Object.entries(SENML_LABELS).map(([k, v]) => [v, k as SenmlKey]));
const SENML_TYPES: Record<SenmlKey, 'string' | 'number' | 'boolean' | 'bytes'> = {
  bver: 'number', bn: 'string', bt: 'number', bu: 'string', bv: 'number', bs: 'number',
  n: 'string', u: 'string', v: 'number', vs: 'string', vb: 'boolean', s: 'number', t: 'number', ut: 'number', vd: 'bytes',
};

// Standard CBOR only: no records (tag 105), no typed-array tags, no tag 259 on Maps, minimal map headers.
const cborOptions = { useRecords: false, tagUint8Array: false, variableMapSize: true, useTag259ForMaps: false, pack: false };
const cborEncoder = new Encoder(cborOptions);
const cborObjects = new Decoder({ useRecords: false, mapsAsObjects: true });
const cborMaps = new Decoder({ useRecords: false, mapsAsObjects: false });
const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: true });

/** Resolves a name or number to the Content-Format number. */
export function contentFormatNumber(format: ContentFormatName | number, field = 'format'): number {
  if (typeof format === 'number') {
    if (!Number.isInteger(format) || format < 0 || format > 0xffff) throw new RangeError(`${field}: expected a Content-Format number 0..65535, got ${format}`);
    return format;
  }
  if (typeof format !== 'string') throw new TypeError(`${field}: expected a content format name or number, got ${describe(format)}`);
  const n = (ContentFormat as Record<string, number>)[format];
  if (n === undefined) throw new RangeError(`${field}: unknown content format "${format}" (known: ${Object.keys(ContentFormat).join(', ')})`);
  return n;
}

function senmlToCbor(records: unknown): Uint8Array {
  if (!Array.isArray(records)) throw new TypeError(`SenML body: expected an array of records, got ${typeof records}`);
  const pack = records.map((r: unknown, i) => {
    if (typeof r !== 'object' || r === null) throw new TypeError(`SenML records[${i}]: expected an object`);
    const m = new Map<number, unknown>();
    for (const [k, v] of Object.entries(r)) {
      if (v === undefined) continue;
      const type = SENML_TYPES[k as SenmlKey];
      if (type === undefined) throw new RangeError(`SenML records[${i}]: unknown field "${k}"`);
      const ok = type === 'bytes' ? v instanceof Uint8Array : typeof v === type;
      if (!ok) throw new TypeError(`SenML records[${i}].${k}: expected ${type}, got ${typeof v}`);
      m.set(SENML_LABELS[k as SenmlKey], v);
    }
    return m;
  });
  return new Uint8Array(cborEncoder.encode(pack)); // a copy: cbor-x hands out views of a shared 8 KiB buffer
}

function senmlFromCbor(payload: Uint8Array): SenmlRecord[] {
  const pack: unknown = cborMaps.decode(payload);
  if (!Array.isArray(pack)) throw new CoapError('MALFORMED', 'SenML+CBOR: expected an array of records');
  return pack.map((m: unknown, i) => {
    if (!(m instanceof Map)) throw new CoapError('MALFORMED', `SenML+CBOR records[${i}]: expected a map`);
    const r: Record<string, unknown> = {};
    for (const [label, v] of m as Map<unknown, unknown>) {
      const k = typeof label === 'number' ? SENML_BY_LABEL.get(label) : undefined;
      if (k === undefined) continue; // RFC 8428 §4.4: unknown labels without "_" suffix are ignored here
      r[k] = k === 'vd' && v instanceof Uint8Array ? new Uint8Array(v) : v;
    }
    return r as SenmlRecord;
  });
}

/**
 * Serializes a request body. Strings are sent as UTF-8 and byte arrays as they are, in any
 * format; other values are serialized by the format (JSON, CBOR, SenML+CBOR/JSON). Without a
 * format: strings are `text/plain`, bytes carry no Content-Format, other values are CBOR.
 */
export function encodeBody(body: unknown, format: number | undefined): { payload: Uint8Array; format: number | undefined } {
  if (body === undefined) return { payload: new Uint8Array(0), format };
  if (body instanceof Uint8Array) return { payload: body, format };
  if (typeof body === 'string') return { payload: utf8.encode(body), format: format ?? ContentFormat['text/plain'] };
  const f = format ?? ContentFormat['application/cbor'];
  switch (f) {
    case ContentFormat['application/json']:
    case ContentFormat['application/senml+json']:
      return { payload: utf8.encode(JSON.stringify(body)), format: f };
    case ContentFormat['application/cbor']:
      return { payload: new Uint8Array(cborEncoder.encode(body)), format: f };
    case ContentFormat['application/senml+cbor']:
      return { payload: senmlToCbor(body), format: f };
    default:
      throw new CoapError('UNSUPPORTED_FORMAT', `cannot serialize a ${typeof body} as Content-Format ${f}; pass a string or Uint8Array`);
  }
}

/**
 * Decodes a payload by its Content-Format: text → string, JSON/SenML+JSON → parsed value,
 * CBOR → value, SenML+CBOR → {@link SenmlRecord}[], anything else → the bytes.
 *
 * @throws CoapError `MALFORMED` when the payload does not parse in its format.
 */
export function decodeBody(payload: Uint8Array, format: number | undefined): unknown {
  try {
    switch (format) {
      case ContentFormat['text/plain']:
      case ContentFormat['application/link-format']:
        return utf8d.decode(payload);
      case ContentFormat['application/json']:
      case ContentFormat['application/senml+json']:
        return JSON.parse(utf8d.decode(payload)) as unknown;
      case ContentFormat['application/cbor']: {
        const v: unknown = cborObjects.decode(payload);
        return v instanceof Uint8Array ? new Uint8Array(v) : v;
      }
      case ContentFormat['application/senml+cbor']:
        return senmlFromCbor(payload);
      default:
        return payload;
    }
  } catch (err) {
    if (err instanceof CoapError) throw err;
    throw new CoapError('MALFORMED', `payload does not decode as Content-Format ${String(format)}: ${(err as Error).message}`, { cause: err });
  }
}
