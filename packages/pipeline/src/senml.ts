// SenML (RFC 8428) packs, JSON and CBOR representations, resolved into telemetry points.
// Input is a document already checked by checkDocument (bounded, leaves normalised). Internal to decode.ts.
import { PipelineError } from './errors.js';
import { DecodedPoint, metricProblem } from './schema.js';
import type { TelemetryPoint } from './types.js';
import { describe } from './validate.js';

// RFC 8428 §6, Table 4: CBOR labels of the SenML fields.
const CBOR_LABELS: ReadonlyMap<string, string> = new Map([
  ['-1', 'bver'], ['-2', 'bn'], ['-3', 'bt'], ['-4', 'bu'], ['-5', 'bv'], ['-6', 'bs'],
  ['0', 'n'], ['1', 'u'], ['2', 'v'], ['3', 'vs'], ['4', 'vb'], ['5', 's'], ['6', 't'], ['7', 'ut'], ['8', 'vd'],
]);
const FIELDS: ReadonlySet<string> = new Set(CBOR_LABELS.values());
const VALUE_FIELDS = ['v', 'vs', 'vb', 'vd'] as const;
/** RFC 8428 §4.5.3: a resolved time below 2**28 s is relative to the time of reception. */
const RELATIVE_LIMIT = 2 ** 28;
/** RFC 8428 §4.4: the version this decoder implements (and the default `bver`). */
const SENML_VERSION = 10;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

function fail(message: string): never {
  throw new PipelineError('SCHEMA_INVALID', message);
}

/** True when `v` looks like a SenML record (a JSON or CBOR map with a SenML field). */
export function isSenmlRecord(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  for (const k of Object.keys(v)) {
    if (k === 'n' || k === 'bn' || k === 'v' || k === 'vs' || k === 'vb' || k === 'vd' || k === 'bt' || k === 'bv' || k === 'bu' || k === 'bs') return true;
    if (CBOR_LABELS.has(k)) return true;
  }
  return false;
}

/** One record with CBOR labels mapped to names; unknown fields dropped (RFC 8428 §4.4). */
function record(r: unknown, w: string): Record<string, unknown> {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) fail(`${w}: expected a record (map), got ${describe(r)}`);
  // Only the SenML field names are ever assigned here, so a plain object is safe.
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(r)) {
    // RFC 8428 §4.4: a field ending in `_` must be understood; this decoder understands none.
    if (k.endsWith('_')) fail(`${w}.${k}: must-understand field not supported`);
    const name = CBOR_LABELS.get(k) ?? k;
    if (FIELDS.has(name)) out[name] = (r as Record<string, unknown>)[k]; // others: extensions a receiver may ignore (§4.4)
  }
  return out;
}

function num(w: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number') fail(`${w}: expected a number, got ${describe(v)}`);
  return v;
}

function str(w: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') fail(`${w}: expected a string, got ${describe(v)}`);
  return v;
}

/** The base fields in force (RFC 8428 §4.1): each applies to its record and those after it. */
interface Base {
  bn: string;
  bt: number;
  bu: string | undefined;
  bv: number;
  bs: number;
}

function applyBase(r: Record<string, unknown>, w: string, base: Base): void {
  const bver = num(`${w}.bver`, r['bver']);
  // RFC 8428 §4.4: a higher version than the receiver knows cannot be processed.
  if (bver !== undefined && (!Number.isInteger(bver) || bver < 1 || bver > SENML_VERSION)) fail(`${w}.bver: unsupported SenML version ${bver} (this decoder implements ${SENML_VERSION})`);
  if (r['bn'] !== undefined) base.bn = str(`${w}.bn`, r['bn']) as string;
  if (r['bt'] !== undefined) base.bt = num(`${w}.bt`, r['bt']) as number;
  if (r['bu'] !== undefined) base.bu = str(`${w}.bu`, r['bu']);
  if (r['bv'] !== undefined) base.bv = num(`${w}.bv`, r['bv']) as number;
  if (r['bs'] !== undefined) base.bs = num(`${w}.bs`, r['bs']) as number;
}

/** RFC 8428 §4.6: one record resolved against the base fields, as a point; null for a base-only record. */
function resolve(r: Record<string, unknown>, w: string, base: Base, device: string, receivedAt: number): TelemetryPoint | null {
  let values = 0;
  for (const k of VALUE_FIELDS) if (r[k] !== undefined) values++;
  const sum = num(`${w}.s`, r['s']);
  // §4.2: exactly one value field, or none when the record has a sum.
  if (values > 1) fail(`${w}: more than one value field (${VALUE_FIELDS.filter((k) => r[k] !== undefined).join(', ')})`);
  if (values === 0 && sum === undefined) {
    if (r['n'] === undefined && r['t'] === undefined && r['u'] === undefined && r['ut'] === undefined) return null;
    fail(`${w}: a record without a value (v, vs, vb, vd) or sum (s)`);
  }
  const name = base.bn + (str(`${w}.n`, r['n']) ?? '');
  // §4.5.1: the resolved name is non-empty and uses the SenML name characters.
  const nameProblem = metricProblem(w, name);
  if (nameProblem !== null) fail(`${nameProblem} (the resolved name bn + n)`);
  // §4.5.3: times are seconds; a resolved time below 2**28 counts from reception ("now").
  const t = base.bt + (num(`${w}.t`, r['t']) ?? 0);
  const time = Math.round(t < RELATIVE_LIMIT ? receivedAt + t * 1000 : t * 1000);
  const extra = Object.create(null) as Record<string, unknown>; // no prototype, as every extra
  let fields = 0;
  let value: number | null = null;
  const v = num(`${w}.v`, r['v']);
  if (v !== undefined) value = base.bv + v; // §4.6: the base value is added to the value
  else if (r['vs'] !== undefined) {
    extra['vs'] = str(`${w}.vs`, r['vs']);
    fields++;
  }
  else if (r['vb'] !== undefined) {
    if (typeof r['vb'] !== 'boolean') fail(`${w}.vb: expected a boolean, got ${describe(r['vb'])}`);
    extra['vb'] = r['vb'];
    fields++;
  } else if (r['vd'] !== undefined) {
    // §5: base64url in JSON (CBOR byte strings arrive here already as base64url).
    const vd = str(`${w}.vd`, r['vd']) as string;
    if (!BASE64URL.test(vd)) fail(`${w}.vd: expected base64url data`);
    extra['vd'] = vd;
    fields++;
  }
  if (sum !== undefined) {
    extra['s'] = base.bs + sum; // §4.6: the base sum is added to the sum
    fields++;
  }
  const unit = str(`${w}.u`, r['u']) ?? base.bu; // §4.5.2: the record's unit, else the base unit
  if (unit !== undefined) {
    extra['u'] = unit;
    fields++;
  }
  const ut = num(`${w}.ut`, r['ut']);
  if (ut !== undefined) {
    if (ut < 0) fail(`${w}.ut: expected a non-negative update time, got ${ut}`);
    extra['ut'] = ut;
    fields++;
  }
  return new DecodedPoint(device, time, name, value, fields === 0 ? undefined : Object.freeze(extra));
}

/**
 * Resolves a SenML pack (RFC 8428 §4) into points appended to `out`: base name, time, unit,
 * value and sum applied, `bver` checked, times in seconds (relative below 2**28), `vs`/`vb`/`vd`,
 * `s`, `u` and `ut` kept in `extra`.
 */
export function fromSenml(pack: unknown, device: string, receivedAt: number, out: TelemetryPoint[], max: number): void {
  if (!Array.isArray(pack)) fail(`senml: expected an array of records, got ${describe(pack)}`);
  if (pack.length === 0) fail('senml: empty pack');
  const base: Base = { bn: '', bt: 0, bu: undefined, bv: 0, bs: 0 };
  for (let i = 0; i < pack.length; i++) {
    const w = `senml[${i}]`;
    const r = record(pack[i], w);
    applyBase(r, w, base);
    const p = resolve(r, w, base, device, receivedAt);
    if (p === null) continue;
    if (out.length >= max) fail(`message yields more than maxPoints ${max} points`);
    out.push(p);
  }
}
