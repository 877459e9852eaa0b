/**
 * Payload decoding: CBOR, JSON and SenML (RFC 8428, JSON and CBOR representations) into
 * {@link TelemetryPoint}s. Pure functions over bytes: no sockets, no clocks (the arrival time is
 * an argument), so the decoder is fuzzed directly.
 */
import { Decoder } from 'cbor-x';
import { PipelineError } from './errors.js';
import type { TelemetryPoint } from './types.js';
import { assertObject, describe, intOption } from './validate.js';

/** The payload formats the decoder understands. `auto` picks one per message (see {@link decodeTelemetry}). */
export type PayloadFormat = 'auto' | 'json' | 'cbor' | 'senml+json' | 'senml+cbor';

/** Options of {@link decodeTelemetry}. */
export interface DecodeOptions {
  /** Payload format (default `auto`). */
  readonly format?: PayloadFormat;
  /** Largest payload accepted, in bytes (default 256 KiB); a larger one is `OVERSIZED`. */
  readonly maxPayloadBytes?: number;
  /** Most points one message may yield (default 10 000); more is `SCHEMA_INVALID`. */
  readonly maxPoints?: number;
  /**
   * Which topic level holds the device id (default 1, as in `devices/<id>/telemetry`). The
   * topic is authoritative: the broker's ACL confines each device to its own subtree, while a
   * payload can claim anything. A payload `device` field that disagrees is `SCHEMA_INVALID`.
   */
  readonly deviceLevel?: number;
  /** Reject points whose event time is further than this in the future of arrival (default 1 day). */
  readonly maxFutureMs?: number;
  /** Reject points whose event time is older than this before arrival (default 365 days). */
  readonly maxAgeMs?: number;
}

/** One message as it arrives from the broker. */
export interface IncomingMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  /** MQTT 5 content type, when the publisher set one (`application/senml+json`, …). */
  readonly contentType?: string | undefined;
  /** Arrival time, epoch ms; the event time of points that carry none. */
  readonly receivedAt: number;
}

const DEFAULTS = { maxPayloadBytes: 256 * 1024, maxPoints: 10_000, deviceLevel: 1, maxFutureMs: 86_400_000, maxAgeMs: 365 * 86_400_000 };
const MAX_NAME = 256;
const RESERVED = new Set(['device', 'ts', 'time', 'timestamp']);
const SENML_RELATIVE_LIMIT = 2 ** 28; // RFC 8428 §4.5.3: times below 2**28 s are relative to now
const CONTENT_TYPES: Record<string, PayloadFormat> = {
  'application/json': 'json',
  'application/cbor': 'cbor',
  'application/senml+json': 'senml+json',
  'application/senml+cbor': 'senml+cbor',
};
// RFC 8428 §6, Table 4: CBOR labels of the SenML fields.
const SENML_CBOR_LABELS: Record<number, string> = { [-1]: 'bver', [-2]: 'bn', [-3]: 'bt', [-4]: 'bu', [-5]: 'bv', [-6]: 'bs', 0: 'n', 1: 'u', 2: 'v', 3: 'vs', 4: 'vb', 5: 's', 6: 't', 7: 'ut', 8: 'vd' };

const cbor = new Decoder({ mapsAsObjects: true, useRecords: false, int64AsType: 'number' } as ConstructorParameters<typeof Decoder>[0]);

function fail(code: 'DECODE_FAILED' | 'SCHEMA_INVALID' | 'OVERSIZED', message: string, cause?: unknown): never {
  throw new PipelineError(code, message, cause === undefined ? undefined : { cause });
}

/**
 * The device id at `level` of `topic`, or a `SCHEMA_INVALID` error.
 *
 * @example
 * ```ts
 * import { deviceFromTopic } from '@outpost/pipeline';
 * deviceFromTopic('devices/pump-1/telemetry'); // 'pump-1'
 * deviceFromTopic('site/7/pump-1/telemetry', 2); // 'pump-1'
 * ```
 */
export function deviceFromTopic(topic: string, level = 1): string {
  if (typeof topic !== 'string') throw new TypeError(`deviceFromTopic: topic: expected a string, got ${describe(topic)}`);
  const id = topic.split('/')[level];
  if (id === undefined || id === '' || id === '+' || id === '#') fail('SCHEMA_INVALID', `topic "${topic}" has no device id at level ${level}`);
  return id;
}

function detect(msg: IncomingMessage, format: PayloadFormat): PayloadFormat {
  if (format !== 'auto') return format;
  const ct = msg.contentType?.split(';')[0]?.trim().toLowerCase();
  if (ct !== undefined && ct !== '') {
    const f = CONTENT_TYPES[ct];
    if (f === undefined) fail('DECODE_FAILED', `unsupported content type "${msg.contentType}" (expected one of ${Object.keys(CONTENT_TYPES).join(', ')})`);
    return f;
  }
  // No content type: JSON text starts with `{` or `[` (after optional whitespace); anything
  // else is CBOR. SenML is recognised after parsing (an array of records with SenML fields).
  for (const b of msg.payload) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    return b === 0x7b || b === 0x5b ? 'json' : 'cbor';
  }
  return 'json';
}

function parseJson(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    return fail('DECODE_FAILED', 'payload is not valid UTF-8 JSON', e);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    return fail('DECODE_FAILED', `payload is not valid JSON: ${(e as Error).message}`, e);
  }
}

function parseCbor(bytes: Uint8Array): unknown {
  try {
    return cbor.decode(bytes) as unknown;
  } catch (e) {
    return fail('DECODE_FAILED', `payload is not valid CBOR: ${(e as Error).message}`, e);
  }
}

function isSenmlRecord(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  for (const k of Object.keys(v)) {
    if (k === 'n' || k === 'bn' || k === 'v' || k === 'vs' || k === 'vb' || k === 'vd' || k === 'bt' || k === 'bv' || k === 'bu') return true;
    if (/^-?\d+$/.test(k) && SENML_CBOR_LABELS[Number(k)] !== undefined) return true;
  }
  return false;
}

function checkName(what: string, v: unknown): string {
  if (typeof v !== 'string') fail('SCHEMA_INVALID', `${what}: expected a string, got ${describe(v)}`);
  if (v.length === 0 || v.length > MAX_NAME) fail('SCHEMA_INVALID', `${what}: expected 1–${MAX_NAME} characters, got ${v.length}`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v)) fail('SCHEMA_INVALID', `${what}: control characters are not allowed`);
  return v;
}

function toTime(what: string, v: unknown): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fail('SCHEMA_INVALID', `${what}: expected a finite epoch-millisecond number, got ${v}`);
    return Math.round(v);
  }
  if (typeof v === 'string') {
    const t = Date.parse(v);
    if (Number.isNaN(t)) fail('SCHEMA_INVALID', `${what}: "${v.slice(0, 40)}" is not an ISO 8601 time`);
    return t;
  }
  if (v instanceof Date) {
    const t = v.getTime();
    if (Number.isNaN(t)) fail('SCHEMA_INVALID', `${what}: invalid Date`);
    return t;
  }
  return fail('SCHEMA_INVALID', `${what}: expected epoch milliseconds or an ISO 8601 string, got ${describe(v)}`);
}

function showTime(t: number): string {
  return Math.abs(t) <= 8.64e15 ? new Date(t).toISOString() : `${t} ms`;
}

function plainExtra(v: unknown): unknown {
  // JSON-safe copy for the `extra` column: byte strings become base64, non-finite numbers null.
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(plainExtra);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = plainExtra(x);
    return o;
  }
  return v;
}

/** `{ ts?, device?, <metric>: number, ... }` — numbers become points, the rest their `extra`. */
function fromObject(o: Record<string, unknown>, device: string, receivedAt: number, where: string, out: TelemetryPoint[], max: number): void {
  if (o['device'] !== undefined && o['device'] !== device) {
    fail('SCHEMA_INVALID', `${where}device: payload says "${String(o['device']).slice(0, 64)}" but the topic says "${device}"`);
  }
  const rawTime = o['ts'] ?? o['time'] ?? o['timestamp'];
  const time = rawTime === undefined ? receivedAt : toTime(`${where}ts`, rawTime);
  let extra: Record<string, unknown> | undefined;
  const metrics: [string, number][] = [];
  for (const [k, v] of Object.entries(o)) {
    if (RESERVED.has(k)) continue;
    if (typeof v === 'number') {
      checkName(`${where}metric name`, k);
      if (!Number.isFinite(v)) fail('SCHEMA_INVALID', `${where}${k}: expected a finite number, got ${v}`);
      metrics.push([k, v]);
    } else {
      (extra ??= {})[k] = plainExtra(v);
    }
  }
  if (metrics.length === 0) fail('SCHEMA_INVALID', `${where.length > 0 ? where : 'payload'}: no numeric metric (expected e.g. {"ts": 1732700000000, "temperature": 21.5})`);
  for (const [metric, value] of metrics) {
    if (out.length >= max) fail('SCHEMA_INVALID', `message yields more than maxPoints ${max} points`);
    out.push(extra === undefined ? { device, time, metric, value } : { device, time, metric, value, extra });
  }
}

function senmlRecord(r: unknown, i: number): Record<string, unknown> {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) fail('SCHEMA_INVALID', `senml[${i}]: expected a record (object), got ${describe(r)}`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    const label = /^-?\d+$/.test(k) ? SENML_CBOR_LABELS[Number(k)] : k;
    if (label === undefined) fail('SCHEMA_INVALID', `senml[${i}]: unknown CBOR label ${k}`);
    out[label] = v;
  }
  return out;
}

function num(where: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail('SCHEMA_INVALID', `${where}: expected a finite number, got ${describe(v)}`);
  return v;
}

/** RFC 8428 §4: base fields apply to the records that follow them; times are seconds. */
function fromSenml(pack: unknown, device: string, receivedAt: number, out: TelemetryPoint[], max: number): void {
  if (!Array.isArray(pack)) fail('SCHEMA_INVALID', `senml: expected an array of records, got ${describe(pack)}`);
  if (pack.length === 0) fail('SCHEMA_INVALID', 'senml: empty pack');
  let bn = '';
  let bt = 0;
  let bu: string | undefined;
  let bv = 0;
  for (let i = 0; i < pack.length; i++) {
    const r = senmlRecord(pack[i], i);
    const w = `senml[${i}]`;
    if (r['bver'] !== undefined && (typeof r['bver'] !== 'number' || r['bver'] > 10)) fail('SCHEMA_INVALID', `${w}.bver: unsupported SenML version ${String(r['bver'])}`);
    for (const k of Object.keys(r)) {
      // RFC 8428 §4.4: fields ending in `_` are "must understand"; we understand none.
      if (k.endsWith('_')) fail('SCHEMA_INVALID', `${w}.${k}: must-understand field not supported`);
    }
    if (r['bn'] !== undefined) bn = checkName(`${w}.bn`, r['bn']);
    if (r['bt'] !== undefined) bt = num(`${w}.bt`, r['bt']) ?? 0;
    if (r['bu'] !== undefined) bu = checkName(`${w}.bu`, r['bu']);
    if (r['bv'] !== undefined) bv = num(`${w}.bv`, r['bv']) ?? 0;
    const n = r['n'] === undefined ? '' : (typeof r['n'] === 'string' ? r['n'] : fail('SCHEMA_INVALID', `${w}.n: expected a string, got ${describe(r['n'])}`));
    const hasValue = r['v'] !== undefined || r['vs'] !== undefined || r['vb'] !== undefined || r['vd'] !== undefined || r['s'] !== undefined;
    if (!hasValue) {
      if (r['bn'] === undefined && r['bt'] === undefined && r['bu'] === undefined && r['bv'] === undefined && r['bver'] === undefined) {
        fail('SCHEMA_INVALID', `${w}: a record without a value (v, vs, vb, vd or s)`);
      }
      continue; // a base-only record
    }
    const name = checkName(`${w}: resolved name`, bn + n);
    const t = bt + (num(`${w}.t`, r['t']) ?? 0);
    // RFC 8428 §4.5.3: a resolved time below 2**28 is relative to the time of reception.
    const time = t < SENML_RELATIVE_LIMIT ? receivedAt + Math.round(t * 1000) : Math.round(t * 1000);
    let value: number | null = null;
    const extra: Record<string, unknown> = {};
    if (r['v'] !== undefined) value = bv + (num(`${w}.v`, r['v']) ?? 0);
    else if (r['vs'] !== undefined) extra['vs'] = typeof r['vs'] === 'string' ? r['vs'] : fail('SCHEMA_INVALID', `${w}.vs: expected a string, got ${describe(r['vs'])}`);
    else if (r['vb'] !== undefined) extra['vb'] = typeof r['vb'] === 'boolean' ? r['vb'] : fail('SCHEMA_INVALID', `${w}.vb: expected a boolean, got ${describe(r['vb'])}`);
    else if (r['vd'] !== undefined) extra['vd'] = typeof r['vd'] === 'string' || r['vd'] instanceof Uint8Array ? plainExtra(r['vd']) : fail('SCHEMA_INVALID', `${w}.vd: expected data, got ${describe(r['vd'])}`);
    if (r['s'] !== undefined) extra['s'] = num(`${w}.s`, r['s']);
    const unit = r['u'] !== undefined ? checkName(`${w}.u`, r['u']) : bu;
    if (unit !== undefined) extra['u'] = unit;
    if (r['ut'] !== undefined) extra['ut'] = num(`${w}.ut`, r['ut']);
    if (out.length >= max) fail('SCHEMA_INVALID', `message yields more than maxPoints ${max} points`);
    out.push(Object.keys(extra).length === 0 ? { device, time, metric: name, value } : { device, time, metric: name, value, extra });
  }
}

/**
 * Decodes one MQTT message into telemetry points, or throws a {@link PipelineError} that says
 * why (`OVERSIZED`, `DECODE_FAILED`, `SCHEMA_INVALID`) — the pipeline sends such messages to the
 * dead-letter sink with that reason.
 *
 * Accepted shapes:
 * - **JSON or CBOR object**: `{ "ts": <epoch ms | ISO 8601>, "temperature": 21.5, "rpm": 1200, "unit": "C" }`;
 *   every finite number becomes a point, everything else rides along in `extra`. An array of
 *   such objects is a batch. No `ts` (or `time`, `timestamp`) means the arrival time.
 * - **SenML** (RFC 8428) in JSON or CBOR: base name/time/unit/value resolved, times in seconds
 *   (relative times below 2^28 s counted from arrival), `vs`/`vb`/`vd`/`s`/`u` kept in `extra`.
 *
 * With `format: 'auto'` the MQTT 5 content type decides; without one, a payload starting with
 * `{` or `[` is JSON (SenML when its records have SenML fields) and anything else CBOR.
 *
 * @example
 * ```ts
 * import { decodeTelemetry } from '@outpost/pipeline';
 * const payload = new TextEncoder().encode('{"ts": 1764201600000, "temperature": 71.5, "fw": "1.2.0"}');
 * const points = decodeTelemetry({ topic: 'devices/pump-1/telemetry', payload, receivedAt: 1764201600100 });
 * points.length; // 1
 * points[0].device; // 'pump-1'
 * points[0].value; // 71.5
 * points[0].extra; // { fw: '1.2.0' }
 * const senml = new TextEncoder().encode('[{"bn":"pump-1/","bt":1764201600,"n":"rpm","v":1200,"u":"1/min"}]');
 * decodeTelemetry({ topic: 'devices/pump-1/telemetry', payload: senml, receivedAt: 1764201600100 })[0].metric; // 'pump-1/rpm'
 * ```
 */
export function decodeTelemetry(msg: IncomingMessage, options: DecodeOptions = {}): TelemetryPoint[] {
  return createDecoder(options)(msg);
}

/**
 * {@link decodeTelemetry} with its options checked once: the returned function decodes one
 * message at a time (what the pipeline calls per message, so options are not re-validated on
 * the hot path).
 *
 * @example
 * ```ts
 * import { createDecoder } from '@outpost/pipeline';
 * const decode = createDecoder({ maxPayloadBytes: 1024 });
 * const payload = new TextEncoder().encode('{"ts": 1764201600000, "rpm": 1500}');
 * decode({ topic: 'devices/pump-1/telemetry', payload, receivedAt: 1764201600100 })[0].value; // 1500
 * ```
 */
export function createDecoder(options: DecodeOptions = {}): (msg: IncomingMessage) => TelemetryPoint[] {
  assertObject('decodeTelemetry: options', options);
  const format: PayloadFormat = (options as DecodeOptions).format ?? 'auto';
  if (!['auto', 'json', 'cbor', 'senml+json', 'senml+cbor'].includes(format as string)) throw new RangeError(`decodeTelemetry: format: expected auto, json, cbor, senml+json or senml+cbor, got ${String(format)}`);
  const maxBytes = intOption('decodeTelemetry: maxPayloadBytes', options.maxPayloadBytes, DEFAULTS.maxPayloadBytes, 1);
  const maxPoints = intOption('decodeTelemetry: maxPoints', options.maxPoints, DEFAULTS.maxPoints, 1);
  const level = intOption('decodeTelemetry: deviceLevel', options.deviceLevel, DEFAULTS.deviceLevel, 0);
  const maxFuture = intOption('decodeTelemetry: maxFutureMs', options.maxFutureMs, DEFAULTS.maxFutureMs, 0);
  const maxAge = intOption('decodeTelemetry: maxAgeMs', options.maxAgeMs, DEFAULTS.maxAgeMs, 0);
  return (msg) => decodeOne(msg, format, maxBytes, maxPoints, level, maxFuture, maxAge);
}

function decodeOne(msg: IncomingMessage, format: PayloadFormat, maxBytes: number, maxPoints: number, level: number, maxFuture: number, maxAge: number): TelemetryPoint[] {
  assertObject('decodeTelemetry: message', msg);
  if (typeof msg.topic !== 'string') throw new TypeError(`decodeTelemetry: message.topic: expected a string, got ${describe(msg.topic)}`);
  if (!(msg.payload instanceof Uint8Array)) throw new TypeError(`decodeTelemetry: message.payload: expected a Uint8Array, got ${describe(msg.payload)}`);
  if (typeof msg.receivedAt !== 'number' || !Number.isFinite(msg.receivedAt)) throw new TypeError(`decodeTelemetry: message.receivedAt: expected epoch milliseconds, got ${describe(msg.receivedAt)}`);
  if (msg.contentType !== undefined && typeof msg.contentType !== 'string') throw new TypeError(`decodeTelemetry: message.contentType: expected a string, got ${describe(msg.contentType)}`);

  if (msg.payload.byteLength > maxBytes) fail('OVERSIZED', `payload of ${msg.payload.byteLength} bytes exceeds maxPayloadBytes ${maxBytes}`);
  if (msg.payload.byteLength === 0) fail('DECODE_FAILED', 'empty payload');
  const device = deviceFromTopic(msg.topic, level);
  checkName('device id', device);
  const f = detect(msg, format);
  const doc = f === 'json' || f === 'senml+json' ? parseJson(msg.payload) : parseCbor(msg.payload);
  const out: TelemetryPoint[] = [];
  const senml = f === 'senml+json' || f === 'senml+cbor' || (Array.isArray(doc) && doc.length > 0 && doc.every(isSenmlRecord));
  if (senml) {
    fromSenml(doc, device, msg.receivedAt, out, maxPoints);
  } else if (Array.isArray(doc)) {
    if (doc.length === 0) fail('SCHEMA_INVALID', 'payload is an empty array');
    doc.forEach((o, i) => {
      if (typeof o !== 'object' || o === null || Array.isArray(o) || o instanceof Uint8Array) fail('SCHEMA_INVALID', `[${i}]: expected an object, got ${describe(o)}`);
      fromObject(o as Record<string, unknown>, device, msg.receivedAt, `[${i}].`, out, maxPoints);
    });
  } else if (typeof doc === 'object' && doc !== null && !(doc instanceof Uint8Array) && !(doc instanceof Date)) {
    fromObject(doc as Record<string, unknown>, device, msg.receivedAt, '', out, maxPoints);
  } else {
    fail('SCHEMA_INVALID', `payload: expected an object, an array of objects or a SenML pack, got ${describe(doc)}`);
  }
  for (const p of out) {
    if (p.time > msg.receivedAt + maxFuture) fail('SCHEMA_INVALID', `${p.metric}: event time ${showTime(p.time)} is more than ${maxFuture} ms in the future`);
    if (p.time < msg.receivedAt - maxAge) fail('SCHEMA_INVALID', `${p.metric}: event time ${showTime(p.time)} is older than maxAgeMs ${maxAge}`);
  }
  return out;
}
