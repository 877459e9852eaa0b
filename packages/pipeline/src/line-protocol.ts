/**
 * InfluxDB line protocol encoder, for users whose time-series store is InfluxDB (write the
 * result to `/api/v2/write` or `/write` with the same `precision`).
 *
 * Rules implemented from the InfluxDB line protocol reference
 * (https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/ — "Special characters",
 * "Naming restrictions"; the same rules in the v1 reference,
 * https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/):
 *
 * - measurement: escape comma and space;
 * - tag keys, tag values, field keys: escape comma, equals sign and space;
 * - string field values: double-quoted, escape double quote and backslash;
 * - the newline character is not supported in any element: RangeError;
 * - measurement names, tag keys and field keys must not begin with `_` (reserved): RangeError;
 * - tag values cannot be empty: an empty tag is omitted;
 * - tags are sorted by key in byte order (the Go `bytes.Compare` order the docs recommend).
 *
 * A backslash outside string field values is rejected with a RangeError: the documentation
 * gives it no escape there, and parsers disagree on `\\` (InfluxDB 1.x keeps both characters,
 * the 2.x parser reads one), so no encoding of it round-trips everywhere.
 */
import type { TelemetryPoint } from './types.js';
import { describe } from './validate.js';

/** A field value: `number` is a float, `bigint` an integer (`i` suffix), plus strings and booleans. */
export type LineFieldValue = number | bigint | boolean | string;

/** One line of line protocol, already in its parts. */
export interface Line {
  readonly measurement: string;
  readonly tags?: Readonly<Record<string, string>>;
  /** At least one field. */
  readonly fields: Readonly<Record<string, LineFieldValue>>;
  /** Timestamp in the unit of the write's precision (an integer); omitted: the server's clock. */
  readonly timestamp?: number | bigint;
}

/** Timestamp precision of a write: nanoseconds (InfluxDB's default), microseconds, milliseconds, seconds. */
export type LinePrecision = 'ns' | 'us' | 'ms' | 's';

/** Options of {@link encodeLineProtocol}. */
export interface LineProtocolOptions {
  /** Measurement when `metricAs` is `field`. Default `telemetry`. */
  readonly measurement?: string;
  /**
   * `field` (default): measurement = `measurement`, the metric is the field key.
   * `measurement`: the metric is the measurement and the value's field key is `valueField`.
   */
  readonly metricAs?: 'field' | 'measurement';
  /** Field key of the value when `metricAs` is `measurement`. Default `value`. */
  readonly valueField?: string;
  /** Tag key of the device id. Default `device`. */
  readonly deviceTag?: string;
  /** Keys of `extra` to write as tags (strings, finite numbers and booleans, as text) instead of fields. */
  readonly tags?: readonly string[];
  /**
   * Keys of `extra` to write as fields: `all` (default: every key not used as a tag; objects and
   * arrays as JSON strings, `null` skipped), `none`, or a list.
   */
  readonly fields?: 'all' | 'none' | readonly string[];
  /** Timestamp precision. Default `ns`. */
  readonly precision?: LinePrecision;
}

const MAX_STRING_BYTES = 65_535; // "String field values: length limit 64KB"

function name(what: string, s: unknown, path: string): string {
  if (typeof s !== 'string') throw new TypeError(`${path}: expected a string ${what}, got ${describe(s)}`);
  if (s.length === 0) throw new RangeError(`${path}: a ${what} cannot be empty`);
  if (s.includes('\n')) throw new RangeError(`${path}: line protocol does not support the newline character in a ${what}`);
  if (s.includes('\\')) throw new RangeError(`${path}: a backslash in a ${what} has no unambiguous line protocol encoding`);
  return s;
}

function reserved(what: string, s: string, path: string): void {
  if (s.startsWith('_')) throw new RangeError(`${path}: a ${what} cannot begin with "_" (reserved by InfluxDB), got '${s}'`);
}

const MEASUREMENT_SPECIAL = /[, ]/g;
const KEY_SPECIAL = /[,= ]/g;
const STRING_SPECIAL = /["\\]/g;

function escapeMeasurement(s: string): string {
  return s.replace(MEASUREMENT_SPECIAL, '\\$&');
}
function escapeKey(s: string): string {
  return s.replace(KEY_SPECIAL, '\\$&');
}

function byteOrder(a: string, b: string): number {
  // UTF-16 code-unit order differs from UTF-8 byte order only for astral vs U+E000–U+FFFF;
  // comparing code points gives the byte order.
  const ai = a[Symbol.iterator]();
  const bi = b[Symbol.iterator]();
  for (;;) {
    const x = ai.next();
    const y = bi.next();
    if (x.done === true) return y.done === true ? 0 : -1;
    if (y.done === true) return 1;
    const d = (x.value.codePointAt(0) as number) - (y.value.codePointAt(0) as number);
    if (d !== 0) return d;
  }
}

function fieldValue(v: unknown, path: string): string {
  switch (typeof v) {
    case 'number':
      if (!Number.isFinite(v)) throw new RangeError(`${path}: line protocol floats must be finite, got ${v}`);
      return String(v); // a float: no suffix ("1" is the float 1.0; "1i" would be an integer)
    case 'bigint':
      if (v < -(2n ** 63n) || v >= 2n ** 63n) throw new RangeError(`${path}: expected a signed 64-bit integer, got ${v}`);
      return `${v}i`;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      if (v.includes('\n')) throw new RangeError(`${path}: line protocol does not support the newline character in a field value`);
      if (Buffer.byteLength(v) > MAX_STRING_BYTES) throw new RangeError(`${path}: string field values are limited to 64 KiB`);
      return `"${v.replace(STRING_SPECIAL, '\\$&')}"`;
    default:
      throw new TypeError(`${path}: expected a number, bigint, boolean or string field value, got ${describe(v)}`);
  }
}

/**
 * Formats one line of InfluxDB line protocol (no trailing newline) from its parts, escaping as the
 * InfluxDB reference prescribes.
 *
 * @throws TypeError for wrong types; RangeError for a newline, a backslash outside string values,
 * an empty or `_`-prefixed name, no fields, a non-finite float or a non-integer timestamp.
 * @example
 * ```ts
 * import { formatLine } from '@outpost/pipeline';
 * formatLine({ measurement: 'my Measurement', fields: { fieldKey: 'string value' } }); // 'my\\ Measurement fieldKey="string value"'
 * formatLine({ measurement: 'weather', tags: { location: 'us,midwest' }, fields: { temperature: 82n }, timestamp: 1465839830100400200n }); // 'weather,location=us\\,midwest temperature=82i 1465839830100400200'
 * ```
 */
export function formatLine(line: Line): string {
  if (typeof line !== 'object' || line === null) throw new TypeError(`line: expected an object, got ${describe(line)}`);
  const measurement = name('measurement', line.measurement, 'line.measurement');
  reserved('measurement', measurement, 'line.measurement');
  let out = escapeMeasurement(measurement);
  if (line.tags !== undefined) {
    if (typeof line.tags !== 'object' || line.tags === null) throw new TypeError(`line.tags: expected an object, got ${describe(line.tags)}`);
    const keys = Object.keys(line.tags).sort(byteOrder);
    for (const k of keys) {
      const key = name('tag key', k, `line.tags['${k}']`);
      reserved('tag key', key, `line.tags['${k}']`);
      const v = line.tags[k];
      if (typeof v !== 'string') throw new TypeError(`line.tags['${k}']: expected a string tag value, got ${describe(v)}`);
      if (v === '') continue; // "Tag values cannot be empty; instead, omit the tag"
      out += `,${escapeKey(key)}=${escapeKey(name('tag value', v, `line.tags['${k}']`))}`;
    }
  }
  if (typeof line.fields !== 'object' || line.fields === null) throw new TypeError(`line.fields: expected an object, got ${describe(line.fields)}`);
  const fieldKeys = Object.keys(line.fields);
  if (fieldKeys.length === 0) throw new RangeError('line.fields: a point needs at least one field');
  let sep = ' ';
  for (const k of fieldKeys) {
    const key = name('field key', k, `line.fields['${k}']`);
    reserved('field key', key, `line.fields['${k}']`);
    out += `${sep}${escapeKey(key)}=${fieldValue(line.fields[k], `line.fields['${k}']`)}`;
    sep = ',';
  }
  const ts = line.timestamp;
  if (ts !== undefined) {
    if (typeof ts === 'number') {
      if (!Number.isSafeInteger(ts)) throw new RangeError(`line.timestamp: expected a safe integer, got ${ts}`);
    } else if (typeof ts !== 'bigint') throw new TypeError(`line.timestamp: expected a number or bigint, got ${describe(ts)}`);
    out += ` ${ts}`;
  }
  return out;
}

function toPrecision(ms: number, precision: LinePrecision): bigint | number {
  switch (precision) {
    case 'ns':
      return BigInt(ms) * 1_000_000n;
    case 'us':
      return BigInt(ms) * 1_000n;
    case 'ms':
      return ms;
    case 's':
      return Math.floor(ms / 1000);
  }
}

/**
 * Encodes telemetry points as InfluxDB line protocol, one line per point, each ending in `\n`.
 * Tags: the device (under `deviceTag`) plus the `extra` keys listed in `tags`; fields: the value
 * (under the metric, or `valueField` when `metricAs` is `measurement`) plus the `extra` keys
 * chosen by `fields`. A point whose value is `null` and that has no field from `extra` has nothing
 * to write and is **skipped** (line protocol requires at least one field), so the output can hold
 * fewer lines than points.
 *
 * @throws TypeError for wrong types; RangeError for elements line protocol cannot carry (see
 * {@link formatLine}), with the index of the point.
 * @example
 * ```ts
 * import { encodeLineProtocol } from '@outpost/pipeline';
 * const points = [
 *   { device: 'pump 1', time: 1_700_000_000_000, metric: 'temperature', value: 21.5, extra: { unit: '°C', site: 'north' } },
 *   { device: 'pump 1', time: 1_700_000_000_000, metric: 'status', value: null },
 * ];
 * encodeLineProtocol(points, { tags: ['site'], precision: 's' }); // 'telemetry,device=pump\\ 1,site=north temperature=21.5,unit="°C" 1700000000\n'
 * encodeLineProtocol(points.slice(0, 1), { metricAs: 'measurement', fields: 'none', precision: 'ms' }); // 'temperature,device=pump\\ 1 value=21.5 1700000000000\n'
 * ```
 */
export function encodeLineProtocol(points: readonly TelemetryPoint[], options: LineProtocolOptions = {}): string {
  if (!Array.isArray(points)) throw new TypeError(`points: expected an array of TelemetryPoint, got ${describe(points)}`);
  const opts = resolveLineOptions(options);
  let out = '';
  for (let i = 0; i < points.length; i++) out += pointLine(points[i] as TelemetryPoint, i, opts);
  return out;
}

/** {@link LineProtocolOptions} checked, with their defaults. Internal. */
export interface ResolvedLineOptions {
  readonly measurement: string;
  readonly metricAs: 'field' | 'measurement';
  readonly valueField: string;
  readonly deviceTag: string;
  readonly precision: LinePrecision;
  readonly tagKeys: readonly string[];
  readonly tagSet: ReadonlySet<string>;
  readonly fieldSel: 'all' | 'none' | readonly string[];
}

/** Checks the options once. Internal. */
export function resolveLineOptions(options: LineProtocolOptions): ResolvedLineOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError(`options: expected an object, got ${describe(options)}`);
  const measurement = options.measurement ?? 'telemetry';
  const metricAs = options.metricAs ?? 'field';
  if (metricAs !== 'field' && metricAs !== 'measurement') throw new RangeError(`options.metricAs: expected 'field' or 'measurement', got ${String(metricAs)}`);
  const valueField = options.valueField ?? 'value';
  const deviceTag = options.deviceTag ?? 'device';
  const precision = options.precision ?? 'ns';
  if (!['ns', 'us', 'ms', 's'].includes(precision)) throw new RangeError(`options.precision: expected 'ns', 'us', 'ms' or 's', got ${String(precision)}`);
  const tagKeys = options.tags ?? [];
  if (!Array.isArray(tagKeys) || tagKeys.some((k) => typeof k !== 'string')) throw new TypeError(`options.tags: expected an array of strings, got ${describe(tagKeys)}`);
  const fieldSel = options.fields ?? 'all';
  if (fieldSel !== 'all' && fieldSel !== 'none' && (!Array.isArray(fieldSel) || fieldSel.some((k) => typeof k !== 'string'))) {
    throw new TypeError(`options.fields: expected 'all', 'none' or an array of strings, got ${describe(fieldSel)}`);
  }
  for (const [what, v] of [['options.measurement', measurement], ['options.valueField', valueField], ['options.deviceTag', deviceTag]] as const) {
    if (typeof v !== 'string') throw new TypeError(`${what}: expected a string, got ${describe(v)}`);
  }
  return { measurement, metricAs, valueField, deviceTag, precision, tagKeys, tagSet: new Set(tagKeys), fieldSel };
}

/** One point's line with its `\n`, or `''` when it has no field to write. Internal. */
export function pointLine(p: TelemetryPoint, i: number, o: ResolvedLineOptions): string {
  const { tagKeys, tagSet, fieldSel, deviceTag, metricAs, valueField, measurement, precision } = o;
  const at = `points[${i}]`;
  if (typeof p !== 'object' || p === null) throw new TypeError(`${at}: expected a TelemetryPoint object, got ${describe(p)}`);
  if (typeof p.device !== 'string') throw new TypeError(`${at}.device: expected a string, got ${describe(p.device)}`);
  if (typeof p.metric !== 'string') throw new TypeError(`${at}.metric: expected a string, got ${describe(p.metric)}`);
  if (typeof p.time !== 'number') throw new TypeError(`${at}.time: expected epoch milliseconds, got ${describe(p.time)}`);
  if (!Number.isSafeInteger(p.time)) throw new RangeError(`${at}.time: expected integer epoch milliseconds, got ${p.time}`);
  if (p.value !== null && typeof p.value !== 'number') throw new TypeError(`${at}.value: expected a number or null, got ${describe(p.value)}`);
  const extra = p.extra ?? {};
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) throw new TypeError(`${at}.extra: expected an object, got ${describe(extra)}`);
  const tags: Record<string, string> = { [deviceTag]: p.device };
  for (const k of tagKeys) {
    const v = extra[k];
    if (typeof v === 'string') tags[k] = v;
    else if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') tags[k] = String(v);
  }
  const fields: Record<string, LineFieldValue> = {};
  const mainKey = metricAs === 'field' ? p.metric : valueField;
  if (p.value !== null) fields[mainKey] = p.value;
  const extraKeys = fieldSel === 'all' ? Object.keys(extra) : fieldSel === 'none' ? [] : fieldSel;
  for (const k of extraKeys) {
    if (tagSet.has(k) || k === deviceTag || k === mainKey) continue;
    const v = extra[k];
    if (v === null || v === undefined) continue;
    fields[k] = typeof v === 'object' ? JSON.stringify(v) : (v as LineFieldValue);
  }
  if (Object.keys(fields).length === 0) return ''; // nothing to write: skipped (documented)
  try {
    return `${formatLine({ measurement: metricAs === 'field' ? measurement : p.metric, tags, fields, timestamp: toPrecision(p.time, precision) })}\n`;
  } catch (err) {
    const e = err as Error;
    const Ctor = e instanceof RangeError ? RangeError : TypeError;
    throw new Ctor(`${at}: ${e.message}`);
  }
}

/** Names that need no escaping and are not reserved: the common case of schema-checked points. */
const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const PLAIN_TAG_VALUE = /^[A-Za-z0-9._:-]+$/;
const STRING_UNSAFE = /["\\\n]/;

/**
 * The line of {@link pointLine} for the layout `metricAs: 'measurement'`, `valueField: 'value'`,
 * `deviceTag: 'device'`, no extra tags and precision ms, built directly when every element is
 * plain (no escaping, nothing reserved, short strings); anything else goes through
 * {@link pointLine}, which escapes or throws. The InfluxDB sink's hot path. Internal.
 */
export function measurementLine(p: TelemetryPoint, i: number, fallback: ResolvedLineOptions): string {
  if (!PLAIN_NAME.test(p.metric) || !PLAIN_TAG_VALUE.test(p.device) || !Number.isSafeInteger(p.time)) return pointLine(p, i, fallback);
  let fields = p.value !== null && Number.isFinite(p.value) ? `value=${p.value}` : '';
  if (p.value !== null && fields === '') return pointLine(p, i, fallback); // a non-finite value: pointLine throws
  const extra = p.extra;
  if (extra !== undefined) {
    for (const k in extra) {
      if (k === 'value' || k === 'device') continue; // as pointLine: the value and the tag win
      const v = extra[k];
      if (v === null || v === undefined) continue;
      if (!PLAIN_NAME.test(k)) return pointLine(p, i, fallback);
      let f: string;
      if (typeof v === 'number') {
        if (!Number.isFinite(v)) return pointLine(p, i, fallback);
        f = String(v);
      } else if (typeof v === 'boolean') f = v ? 'true' : 'false';
      else {
        const s = typeof v === 'string' ? v : JSON.stringify(v);
        if (s.length > 16_384 || STRING_UNSAFE.test(s)) return pointLine(p, i, fallback); // escaping or the size check
        f = `"${s}"`;
      }
      fields += fields === '' ? `${k}=${f}` : `,${k}=${f}`;
    }
  }
  if (fields === '') return '';
  return `${p.metric},device=${p.device} ${fields} ${p.time}\n`;
}
