/**
 * The one {@link TelemetryPoint} schema. The decoder applies it once to every point it makes and
 * returns them as frozen `DecodedPoint`s; every sink calls {@link checkTelemetryPoint}, which trusts a
 * checked point and applies the same rules to any other (a point a caller built by hand). One
 * validator, so a point cannot commit in one store and be refused by another.
 */
import { describe, isPlainObject } from './validate.js';
import type { TelemetryPoint } from './types.js';

/**
 * Device ids: the fleet identity charset, 1–128 characters of `[A-Za-z0-9._-]`.
 *
 * @example
 * ```ts
 * import { DEVICE_ID_PATTERN } from '@outpost/pipeline';
 * DEVICE_ID_PATTERN.test('pump-1'); // true
 * DEVICE_ID_PATTERN.test('pump 1'); // false
 * ```
 */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
/**
 * Metric names: the SenML name rule (RFC 8428 §4.5.1: starts with a letter or digit, then
 * letters, digits and `-:./_`), at most 256 characters. Applied to JSON/CBOR keys as well.
 *
 * @example
 * ```ts
 * import { METRIC_NAME_PATTERN } from '@outpost/pipeline';
 * METRIC_NAME_PATTERN.test('urn:dev:ow:10e2073a01080063:temp'); // true
 * METRIC_NAME_PATTERN.test('-temp'); // false
 * ```
 */
export const METRIC_NAME_PATTERN = /^[A-Za-z0-9][-:./_A-Za-z0-9]{0,255}$/;
/**
 * Earliest event time, epoch ms (1970-01-01T00:00:00.000Z): the lake partitions from the epoch
 * and a device clock before 1970 is a clock fault.
 *
 * @example
 * ```ts
 * import { MIN_POINT_TIME } from '@outpost/pipeline';
 * new Date(MIN_POINT_TIME).toISOString(); // '1970-01-01T00:00:00.000Z'
 * ```
 */
export const MIN_POINT_TIME = 0;
/**
 * Latest event time, epoch ms (2262-04-11T23:47:16.854Z): InfluxDB keeps time as signed 64-bit
 * nanoseconds, the narrowest of the stores; PostgreSQL, DuckDB and the lake hold it too.
 *
 * @example
 * ```ts
 * import { MAX_POINT_TIME } from '@outpost/pipeline';
 * new Date(MAX_POINT_TIME).toISOString(); // '2262-04-11T23:47:16.854Z'
 * ```
 */
export const MAX_POINT_TIME = 9_223_372_036_854;
/**
 * Deepest nesting of a point's `extra` (objects and arrays); PostgreSQL's JSONB check used 64.
 *
 * @example
 * ```ts
 * import { MAX_EXTRA_DEPTH } from '@outpost/pipeline';
 * MAX_EXTRA_DEPTH; // 64
 * ```
 */
export const MAX_EXTRA_DEPTH = 64;

/**
 * Internal: a point the decoder built and checked under this schema (frozen before it leaves the
 * decoder). The class is the mark a sink trusts, instead of checking the point again.
 */
export class DecodedPoint implements TelemetryPoint {
  readonly device: string;
  readonly time: number;
  readonly metric: string;
  readonly value: number | null;
  readonly extra?: Readonly<Record<string, unknown>>;

  constructor(device: string, time: number, metric: string, value: number | null, extra: Readonly<Record<string, unknown>> | undefined) {
    this.device = device;
    this.time = time;
    this.metric = metric;
    this.value = value;
    if (extra !== undefined) this.extra = extra;
  }
}

/** A problem with one point: a wrong type (`TypeError`) or a bad value (`RangeError`). */
interface Problem {
  readonly type: boolean;
  readonly message: string;
}

/** Internal: PostgreSQL text and JSONB hold neither NUL nor a lone surrogate (ES2024 `isWellFormed`, Node ≥ 20). */
export function storable(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed() && !s.includes('\0');
}

/** The time rule alone (the decoder checks device and metric itself, once per message). */
export function timeProblem(where: string, time: number): string | null {
  if (!Number.isInteger(time) || time < MIN_POINT_TIME || time > MAX_POINT_TIME) {
    return `${where}.time: expected an integer epoch ms in [${MIN_POINT_TIME}, ${MAX_POINT_TIME}] (1970-01-01 to 2262-04-11), got ${time}`;
  }
  return null;
}

// Metric names repeat from message to message: remember the good ones (a bounded memo).
const goodNames = new Set<string>();

/** Whether `metric` follows the metric rule (RFC 8428 §4.5.1 characters); no message is built. */
export function isMetricName(metric: string): boolean {
  if (goodNames.has(metric)) return true;
  if (!METRIC_NAME_PATTERN.test(metric)) return false;
  if (goodNames.size >= 4096) goodNames.clear();
  goodNames.add(metric);
  return true;
}

/** The metric rule alone. */
export function metricProblem(where: string, metric: string): string | null {
  if (isMetricName(metric)) return null;
  return `${where}.metric: expected 1–256 characters of [A-Za-z0-9-:./_] starting with a letter or digit (RFC 8428 §4.5.1), got ${JSON.stringify(metric.slice(0, 64))}`;
}

/** The device rule alone. */
export function deviceProblem(where: string, device: string): string | null {
  return DEVICE_ID_PATTERN.test(device) ? null : `${where}.device: expected 1–128 characters of [A-Za-z0-9._-], got ${JSON.stringify(device.slice(0, 64))}`;
}

function extraProblem(where: string, extra: unknown): Problem | null {
  // Iterative: a deep `extra` meets the depth limit, never the call-stack limit.
  const stack: [unknown, string, number][] = [[extra, `${where}.extra`, 1]];
  while (stack.length > 0) {
    const [v, path, depth] = stack.pop() as [unknown, string, number];
    if (typeof v === 'string') {
      if (!storable(v)) return { type: false, message: `${path}: a string with NUL or a lone surrogate cannot be stored` };
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { type: false, message: `${path}: expected a finite number, got ${v}` };
    } else if (Array.isArray(v) || isPlainObject(v)) {
      if (depth > MAX_EXTRA_DEPTH) return { type: false, message: `${path}: nested deeper than ${MAX_EXTRA_DEPTH} levels` };
      for (const [k, x] of Object.entries(v)) {
        if (!storable(k)) return { type: false, message: `${path}: a key with NUL or a lone surrogate cannot be stored` };
        stack.push([x, `${path}.${k}`, depth + 1]);
      }
    } else if (v !== null && typeof v !== 'boolean') {
      return { type: true, message: `${path}: expected a JSON value, got ${describe(v)}` };
    }
  }
  return null;
}

function pointProblem(p: unknown, where: string): Problem | null {
  if (!isPlainObject(p)) return { type: true, message: `${where}: expected a telemetry point object, got ${describe(p)}` };
  const { device, time, metric, value, extra } = p;
  if (typeof device !== 'string') return { type: true, message: `${where}.device: expected a string, got ${describe(device)}` };
  const d = deviceProblem(where, device);
  if (d !== null) return { type: false, message: d };
  if (typeof time !== 'number') return { type: true, message: `${where}.time: expected an integer (epoch ms), got ${describe(time)}` };
  const t = timeProblem(where, time);
  if (t !== null) return { type: false, message: t };
  if (typeof metric !== 'string') return { type: true, message: `${where}.metric: expected a string, got ${describe(metric)}` };
  const m = metricProblem(where, metric);
  if (m !== null) return { type: false, message: m };
  if (value !== null && typeof value !== 'number') return { type: true, message: `${where}.value: expected a number or null, got ${describe(value)}` };
  if (typeof value === 'number' && !Number.isFinite(value)) return { type: false, message: `${where}.value: expected a finite number or null, got ${value}` };
  return null;
}

/**
 * Checks that `p` is a {@link TelemetryPoint} under the one schema and returns its `extra` as
 * JSON text (`null` when absent). Every sink of this package calls it before buffering; a point
 * the decoder made was checked there and is not checked again.
 *
 * The schema: `device` matches {@link DEVICE_ID_PATTERN}; `time` an integer epoch ms in
 * [{@link MIN_POINT_TIME}, {@link MAX_POINT_TIME}]; `metric` matches {@link METRIC_NAME_PATTERN};
 * `value` a finite number or `null`; `extra` absent or a plain object of JSON values (finite
 * numbers, strings without NUL or lone surrogates), at most {@link MAX_EXTRA_DEPTH} levels deep.
 *
 * @param p the value to check.
 * @param where how to name it in error messages (`points[3]`).
 * @returns `JSON.stringify(p.extra)`, or `null`.
 * @throws TypeError for a wrong type (of the point or a field); RangeError for a value the
 * schema refuses.
 *
 * @example
 * ```ts
 * import { checkTelemetryPoint } from '@outpost/pipeline';
 * checkTelemetryPoint({ device: 'd1', time: 0, metric: 'temp', value: 1.5, extra: { unit: 'Cel' } }); // '{"unit":"Cel"}'
 * checkTelemetryPoint({ device: 'd1', time: 0, metric: 'temp', value: null }); // null
 * ```
 */
export function checkTelemetryPoint(p: unknown, where = 'point'): string | null {
  if (p instanceof DecodedPoint && Object.isFrozen(p)) {
    const extra = (p as TelemetryPoint).extra;
    return extra === undefined ? null : JSON.stringify(extra);
  }
  const problem = pointProblem(p, where);
  if (problem !== null) throw problem.type ? new TypeError(problem.message) : new RangeError(problem.message);
  const extra = (p as TelemetryPoint).extra;
  if (extra === undefined) return null;
  if (!isPlainObject(extra)) throw new TypeError(`${where}.extra: expected a plain object or undefined, got ${describe(extra)}`);
  let json: string;
  try {
    json = JSON.stringify(extra); // first: a cycle is a TypeError here, before the depth walk
  } catch (err) {
    throw new TypeError(`${where}.extra: expected a JSON-serialisable object, got one that JSON.stringify rejects (${(err as Error).message})`);
  }
  const bad = extraProblem(where, extra);
  if (bad !== null) throw bad.type ? new TypeError(bad.message) : new RangeError(bad.message);
  return json;
}

/**
 * The `extra` JSON text of each point (`null` when absent), every point checked as
 * {@link checkTelemetryPoint} does and named `points[i]` in its error; a decoded point is
 * trusted without building its name. What the sinks call on every write. For a frozen array of
 * frozen decoded points (what the pipeline hands its sinks) the result is computed once and the
 * same frozen array returned to every later call. Internal.
 */
export function checkedExtras(points: readonly unknown[]): readonly (string | null)[] {
  // A frozen array of frozen decoded points cannot change between two sinks' writes: its result
  // is computed once and shared (the pipeline hands every sink the same frozen array of a group).
  const frozen = Object.isFrozen(points);
  if (frozen) {
    const known = extrasOf.get(points);
    if (known !== undefined) return known;
  }
  const n = points.length;
  const out = new Array<string | null>(n);
  let decoded = true; // every point a frozen DecodedPoint: nothing in the array can change
  for (let i = 0; i < n; i++) {
    const p = points[i];
    if (p instanceof DecodedPoint && Object.isFrozen(p)) out[i] = p.extra === undefined ? null : JSON.stringify(p.extra);
    else {
      out[i] = checkTelemetryPoint(p, `points[${i}]`);
      decoded = false;
    }
  }
  if (frozen && decoded) extrasOf.set(points, Object.freeze(out));
  return out;
}

/** checkedExtras' results for frozen point arrays, while the array lives. */
const extrasOf = new WeakMap<readonly unknown[], readonly (string | null)[]>();
