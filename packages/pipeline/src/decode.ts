/**
 * Payload decoding: CBOR, JSON and SenML (RFC 8428, JSON and CBOR representations) into
 * {@link TelemetryPoint}s. Pure functions over bytes: no sockets, no clocks (the arrival time is
 * an argument), so the decoder is fuzzed directly. Bounded and iterative (bounded.ts): a hostile
 * payload ends in a {@link PipelineError} with a reason, never a stack overflow or a crash.
 */
import { Decoder } from 'cbor-x';
import { checkDocument, frozenCopy, scanCbor, scanJsonDepth, type Limits } from './bounded.js';
import { PipelineError } from './errors.js';
import { DecodedPoint, deviceProblem, isMetricName, metricProblem, timeProblem } from './schema.js';
import { fromSenml, isSenmlRecord } from './senml.js';
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
  /** Deepest nesting of objects and arrays in a payload (default 32); deeper is `DECODE_FAILED`. */
  readonly maxDepth?: number;
  /** Most keys of one object or items of one array (default 1 024); more is `SCHEMA_INVALID`. */
  readonly maxKeys?: number;
  /** Longest string (key or value), in UTF-16 code units (default 4 096); longer is `SCHEMA_INVALID`. */
  readonly maxStringLength?: number;
}

/** One message as it arrives from the broker. */
export interface IncomingMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  /** MQTT 5 content type, when the publisher set one (`application/senml+json`, …). */
  readonly contentType?: string | undefined;
  /** Arrival time, epoch ms; the event time of points that carry none. */
  readonly receivedAt: number;
  /** MQTT 5 user properties, when the publisher set some (the bridge reads `msg-id`). */
  readonly userProperties?: Readonly<Record<string, string | string[]>> | undefined;
}

const DEFAULTS = { maxPayloadBytes: 256 * 1024, maxPoints: 10_000, deviceLevel: 1, maxFutureMs: 86_400_000, maxAgeMs: 365 * 86_400_000, maxDepth: 32, maxKeys: 1024, maxStringLength: 4096 };
const RESERVED = new Set(['device', 'ts', 'time', 'timestamp']);
const CONTENT_TYPES: Record<string, PayloadFormat> = {
  'application/json': 'json',
  'application/cbor': 'cbor',
  'application/senml+json': 'senml+json',
  'application/senml+cbor': 'senml+cbor',
};

const utf8 = new TextDecoder('utf-8', { fatal: true }); // stateless for whole buffers: shared
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
  // topic.split('/')[level] without an array and a string per level.
  let start = 0;
  for (let i = 0; i < level && start >= 0; i++) {
    const slash = topic.indexOf('/', start);
    start = slash < 0 ? -1 : slash + 1;
  }
  const end = start < 0 ? -1 : topic.indexOf('/', start);
  const id = start < 0 ? undefined : end < 0 ? topic.slice(start) : topic.slice(start, end);
  if (id === undefined || id === '' || id === '+' || id === '#') fail('SCHEMA_INVALID', `topic ${JSON.stringify(topic.slice(0, 128))} has no device id at level ${level}`);
  return id;
}

function detect(msg: IncomingMessage, format: PayloadFormat): PayloadFormat {
  if (format !== 'auto') return format;
  const ct = msg.contentType?.split(';')[0]?.trim().toLowerCase();
  if (ct !== undefined && ct !== '') {
    const f = CONTENT_TYPES[ct];
    if (f === undefined) fail('DECODE_FAILED', `unsupported content type ${JSON.stringify(msg.contentType?.slice(0, 64))} (expected one of ${Object.keys(CONTENT_TYPES).join(', ')})`);
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

function parseJson(bytes: Uint8Array, lim: Limits): unknown {
  scanJsonDepth(bytes, lim.maxDepth); // before JSON.parse: nesting is bounded first
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (e) {
    return fail('DECODE_FAILED', 'payload is not valid UTF-8 JSON', e);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    return fail('DECODE_FAILED', `payload is not valid JSON: ${(e as Error).message}`, e);
  }
}

function parseCbor(bytes: Uint8Array, lim: Limits): unknown {
  scanCbor(bytes, lim); // before cbor-x (which recurses): well-formed, bounded, dates as the only tags
  try {
    return cbor.decode(bytes) as unknown;
  } catch (e) {
    return fail('DECODE_FAILED', `payload is not valid CBOR: ${(e as Error).message}`, e);
  }
}


function toTime(what: string, v: unknown): number {
  if (typeof v === 'number') return Math.round(v); // finite: checkDocument admits no NaN or Infinity
  if (typeof v === 'string') {
    const t = Date.parse(v);
    if (Number.isNaN(t)) fail('SCHEMA_INVALID', `${what}: ${JSON.stringify(v.slice(0, 40))} is not an ISO 8601 time`);
    return t;
  }
  return fail('SCHEMA_INVALID', `${what}: expected epoch milliseconds or an ISO 8601 string, got ${describe(v)}`);
}

function showTime(t: number): string {
  return Math.abs(t) <= 8.64e15 ? new Date(t).toISOString() : `${t} ms`;
}

/** `{ ts?, device?, <metric>: number, ... }` — numbers become points, the rest their `extra`. */
function fromObject(o: Record<string, unknown>, device: string, receivedAt: number, where: string, out: TelemetryPoint[], max: number): void {
  const claimed = o['device'];
  if (claimed !== undefined && claimed !== device) {
    // Never String() a payload value: an object's own toString/valueOf keys are data, not code.
    const said = typeof claimed === 'string' ? JSON.stringify(claimed.slice(0, 64)) : `a ${describe(claimed)}`;
    fail('SCHEMA_INVALID', `${where}device: payload says ${said} but the topic says "${device}"`);
  }
  const rawTime = o['ts'] ?? o['time'] ?? o['timestamp'];
  const time = rawTime === undefined ? receivedAt : toTime(`${where}ts`, rawTime);
  let extra: Record<string, unknown> | undefined;
  // Two passes over one key list, no [metric, value] pair per metric: the extras must be known
  // before the first point is made (every point of the object shares them).
  const keys = Object.keys(o);
  let metrics = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (RESERVED.has(k)) continue;
    const v = o[k];
    if (typeof v === 'number') {
      if (!isMetricName(k)) fail('SCHEMA_INVALID', metricProblem(`${where}${k.slice(0, 64)}`, k) as string); // the message only for a bad name
      metrics++;
    } else {
      (extra ??= Object.create(null) as Record<string, unknown>)[k] = frozenCopy(v); // no prototype: `__proto__` is data
    }
  }
  if (metrics === 0) fail('SCHEMA_INVALID', `${where.length > 0 ? where : 'payload'}: no numeric metric (expected e.g. {"ts": 1732700000000, "temperature": 21.5})`);
  if (extra !== undefined) Object.freeze(extra);
  if (out.length + metrics > max) fail('SCHEMA_INVALID', `message yields more than maxPoints ${max} points`);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const v = o[k];
    if (typeof v === 'number' && !RESERVED.has(k)) out.push(new DecodedPoint(device, time, k, v, extra));
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
 * - **SenML** (RFC 8428) in JSON or CBOR: base name/time/unit/value/sum resolved, `bver`
 *   checked, times in seconds (relative times below 2^28 s counted from arrival),
 *   `vs`/`vb`/`vd`/`s`/`u`/`ut` kept in `extra`.
 *
 * Every point meets the one schema (`checkTelemetryPoint`): device id from the topic in
 * `[A-Za-z0-9._-]{1,128}`, metric names per RFC 8428 §4.5.1, times 1970–2262, finite values.
 * Parsing is bounded by `maxDepth`, `maxKeys`, `maxStringLength` and `maxPayloadBytes`;
 * `extra` objects have no prototype, so `__proto__`, `constructor` and `prototype` keys are data.
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
  const c: Config = {
    format,
    maxBytes: intOption('decodeTelemetry: maxPayloadBytes', options.maxPayloadBytes, DEFAULTS.maxPayloadBytes, 1),
    maxPoints: intOption('decodeTelemetry: maxPoints', options.maxPoints, DEFAULTS.maxPoints, 1),
    level: intOption('decodeTelemetry: deviceLevel', options.deviceLevel, DEFAULTS.deviceLevel, 0),
    maxFuture: intOption('decodeTelemetry: maxFutureMs', options.maxFutureMs, DEFAULTS.maxFutureMs, 0),
    maxAge: intOption('decodeTelemetry: maxAgeMs', options.maxAgeMs, DEFAULTS.maxAgeMs, 0),
    limits: {
      maxDepth: intOption('decodeTelemetry: maxDepth', options.maxDepth, DEFAULTS.maxDepth, 1, 1000),
      maxKeys: intOption('decodeTelemetry: maxKeys', options.maxKeys, DEFAULTS.maxKeys, 1),
      maxStringLength: intOption('decodeTelemetry: maxStringLength', options.maxStringLength, DEFAULTS.maxStringLength, 1),
    },
  };
  return (msg) => decodeOne(msg, c);
}

interface Config {
  readonly format: PayloadFormat;
  readonly maxBytes: number;
  readonly maxPoints: number;
  readonly level: number;
  readonly maxFuture: number;
  readonly maxAge: number;
  readonly limits: Limits;
}

function checkMessage(msg: IncomingMessage): void {
  assertObject('decodeTelemetry: message', msg);
  if (typeof msg.topic !== 'string') throw new TypeError(`decodeTelemetry: message.topic: expected a string, got ${describe(msg.topic)}`);
  if (!(msg.payload instanceof Uint8Array)) throw new TypeError(`decodeTelemetry: message.payload: expected a Uint8Array, got ${describe(msg.payload)}`);
  if (typeof msg.receivedAt !== 'number' || !Number.isFinite(msg.receivedAt)) throw new TypeError(`decodeTelemetry: message.receivedAt: expected epoch milliseconds, got ${describe(msg.receivedAt)}`);
  if (msg.contentType !== undefined && typeof msg.contentType !== 'string') throw new TypeError(`decodeTelemetry: message.contentType: expected a string, got ${describe(msg.contentType)}`);
}

function decodeOne(msg: IncomingMessage, c: Config): TelemetryPoint[] {
  checkMessage(msg); // a wrong message object is the caller's bug: TypeError
  try {
    return decodePayload(msg, c);
  } catch (e) {
    if (e instanceof PipelineError) throw e;
    // Device data must end in a reason, never a plain error: whatever escaped the bounds above
    // (a parser bug, an engine limit) is a rejection of this payload, not a crash or a stall.
    throw new PipelineError('DECODE_FAILED', `the decoder failed on this payload: ${(e as Error)?.name ?? 'Error'}`, { cause: e });
  }
}

function decodePayload(msg: IncomingMessage, c: Config): TelemetryPoint[] {
  if (msg.payload.byteLength > c.maxBytes) fail('OVERSIZED', `payload of ${msg.payload.byteLength} bytes exceeds maxPayloadBytes ${c.maxBytes}`);
  if (msg.payload.byteLength === 0) fail('DECODE_FAILED', 'empty payload');
  const device = deviceFromTopic(msg.topic, c.level);
  const bad = deviceProblem('topic', device);
  if (bad !== null) fail('SCHEMA_INVALID', bad);
  const f = detect(msg, c.format);
  const parsed = f === 'json' || f === 'senml+json' ? parseJson(msg.payload, c.limits) : parseCbor(msg.payload, c.limits);
  const doc = checkDocument(parsed, c.limits);
  const out: TelemetryPoint[] = [];
  const senml = f === 'senml+json' || f === 'senml+cbor' || (Array.isArray(doc) && doc.length > 0 && doc.every(isSenmlRecord));
  if (senml) {
    fromSenml(doc, device, msg.receivedAt, out, c.maxPoints);
  } else if (Array.isArray(doc)) {
    if (doc.length === 0) fail('SCHEMA_INVALID', 'payload is an empty array');
    doc.forEach((o: unknown, i) => {
      if (typeof o !== 'object' || o === null || Array.isArray(o)) fail('SCHEMA_INVALID', `[${i}]: expected an object, got ${describe(o)}`);
      fromObject(o as Record<string, unknown>, device, msg.receivedAt, `[${i}].`, out, c.maxPoints);
    });
  } else if (typeof doc === 'object' && doc !== null) {
    fromObject(doc as Record<string, unknown>, device, msg.receivedAt, '', out, c.maxPoints);
  } else {
    fail('SCHEMA_INVALID', `payload: expected an object, an array of objects or a SenML pack, got ${describe(doc)}`);
  }
  if (out.length === 0) fail('SCHEMA_INVALID', 'payload: no points');
  for (const p of out) {
    if (p.time > msg.receivedAt + c.maxFuture) fail('SCHEMA_INVALID', `${p.metric}: event time ${showTime(p.time)} is more than ${c.maxFuture} ms in the future`);
    if (p.time < msg.receivedAt - c.maxAge) fail('SCHEMA_INVALID', `${p.metric}: event time ${showTime(p.time)} is older than maxAgeMs ${c.maxAge}`);
    const late = timeProblem(p.metric, p.time); // the one schema's absolute range
    if (late !== null) fail('SCHEMA_INVALID', late);
    Object.freeze(p); // a DecodedPoint, checked: sinks trust it (schema.ts)
  }
  return out;
}
