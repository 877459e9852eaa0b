// CBOR (RFC 8949) for JSON values on disk: buffered reports and the file store. cbor-x's
// default object decoding renames a "__proto__" key, so maps are decoded as Maps and turned
// into plain objects here, keeping every key as it was.

import { Decoder, Encoder } from 'cbor-x';
import { setKey, type JsonObject, type JsonValue } from './json.js';

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: false });

export function encodeJson(value: JsonValue | Record<string, unknown>): Uint8Array {
  return encoder.encode(value);
}

function toJson(v: unknown): JsonValue {
  if (v instanceof Map) {
    const out: JsonObject = {};
    for (const [k, x] of v) {
      if (typeof k !== 'string') throw new TypeError(`CBOR map key: expected a string, got ${typeof k}`);
      setKey(out, k, toJson(x));
    }
    return out;
  }
  if (Array.isArray(v)) return v.map(toJson);
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return v;
  throw new TypeError(`CBOR item: expected a JSON value, got ${typeof v}`);
}

/** Decodes CBOR into a JSON value. @throws on malformed CBOR or non-JSON items. */
export function decodeJson(bytes: Uint8Array): JsonValue {
  return toJson(decoder.decode(bytes));
}
