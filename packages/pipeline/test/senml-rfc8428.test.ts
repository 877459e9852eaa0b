// RFC 8428 §5 examples as vectors: each pack is the RFC's JSON text (section noted), and the
// points are what resolving it (§4.6) must give. Times: seconds in the RFC, epoch ms here; a
// record without a time is "now" (§4.5.3), i.e. the arrival time R.
import { describe, expect, it } from 'vitest';
import { createDecoder } from '../src/decode.js';
import type { TelemetryPoint } from '../src/types.js';
import { Encoder } from 'cbor-x';
import { msg, outcome } from './decode-fixtures.js';

const R = Date.UTC(2026, 10, 27, 12, 0, 0);
// The examples are from 2010-2011: allow event times that old.
const decode = createDecoder({ maxAgeMs: 20 * 365 * 86_400_000 });
const senml = (text: string): TelemetryPoint[] => decode(msg(text, { receivedAt: R, contentType: 'application/senml+json' }));
const p = (metric: string, time: number, value: number | null, extra?: Record<string, unknown>): TelemetryPoint =>
  extra === undefined ? { device: 'pump-1', time, metric, value } : { device: 'pump-1', time, metric, value, extra };

const OW = 'urn:dev:ow:10e2073a01080063';
const OW6 = 'urn:dev:ow:10e2073a0108006:';

/** RFC 8428 §5.1.3 (multiple measurements with base time). */
const S513 = `[
  {"bn":"urn:dev:ow:10e2073a01080063","bt":1.320067464e+09,
   "bu":"%RH","v":20},
  {"u":"lon","v":24.30621},
  {"u":"lat","v":60.07965},
  {"t":60,"v":20.3},
  {"u":"lon","t":60,"v":24.30622},
  {"u":"lat","t":60,"v":60.07965},
  {"t":120,"v":20.7},
  {"u":"lon","t":120,"v":24.30623},
  {"u":"lat","t":120,"v":60.07966},
  {"u":"%EL","t":150,"v":98},
  {"t":180,"v":21.2},
  {"u":"lon","t":180,"v":24.30628},
  {"u":"lat","t":180,"v":60.07967}
]`;

/** RFC 8428 §5.1.4 (resolved data: §5.1.3 in resolved form). */
const S514 = `[
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067464e+09,"v":20},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067464e+09,"v":24.30621},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067464e+09,"v":60.07965},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067524e+09,"v":20.3},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067524e+09,"v":24.30622},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067524e+09,"v":60.07965},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067584e+09,"v":20.7},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067584e+09,"v":24.30623},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067584e+09,"v":60.07966},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%EL","t":1.320067614e+09,"v":98},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067644e+09,"v":21.2},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067644e+09,"v":24.30628},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067644e+09,"v":60.07967}
]`;

/** RFC 8428 §5.1.2, second example (current at each second for the previous 5 seconds). */
const S512B = `[
  {"bn":"urn:dev:ow:10e2073a0108006:","bt":1.276020076001e+09,
   "bu":"A","bver":5,
   "n":"voltage","u":"V","v":120.1},
  {"n":"current","t":-5,"v":1.2},
  {"n":"current","t":-4,"v":1.3},
  {"n":"current","t":-3,"v":1.4},
  {"n":"current","t":-2,"v":1.5},
  {"n":"current","t":-1,"v":1.6},
  {"n":"current","v":1.7}
]`;

describe('RFC 8428 §5 examples', () => {
  it('§5.1.1 single datapoint ("now")', () => {
    expect(senml('[{"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}]')).toEqual([p(OW, R, 23.1, { u: 'Cel' })]);
  });

  it('§5.1.2 multiple datapoints, "now"', () => {
    expect(senml('[{"bn":"urn:dev:ow:10e2073a01080063:","n":"voltage","u":"V","v":120.1},{"n":"current","u":"A","v":1.2}]')).toEqual([
      p(`${OW}:voltage`, R, 120.1, { u: 'V' }),
      p(`${OW}:current`, R, 1.2, { u: 'A' }),
    ]);
  });

  it('§5.1.2 multiple datapoints with base time, base unit and bver 5', () => {
    const base = 1_276_020_076_001;
    expect(senml(S512B)).toEqual([
      p(`${OW6}voltage`, base, 120.1, { u: 'V' }),
      ...[1.2, 1.3, 1.4, 1.5, 1.6, 1.7].map((v, i) => p(`${OW6}current`, base - (5 - i) * 1000, v, { u: 'A' })),
    ]);
  });

  it('§5.1.3 multiple measurements: base name, base time and base unit apply to the records after them', () => {
    const pts = senml(S513);
    expect(pts).toHaveLength(13);
    expect(pts.every((x) => x.metric === OW)).toBe(true);
    expect(pts.map((x) => [x.time - 1_320_067_464_000, x.value, x.extra?.['u']])).toEqual([
      [0, 20, '%RH'], [0, 24.30621, 'lon'], [0, 60.07965, 'lat'],
      [60_000, 20.3, '%RH'], [60_000, 24.30622, 'lon'], [60_000, 60.07965, 'lat'],
      [120_000, 20.7, '%RH'], [120_000, 24.30623, 'lon'], [120_000, 60.07966, 'lat'],
      [150_000, 98, '%EL'],
      [180_000, 21.2, '%RH'], [180_000, 24.30628, 'lon'], [180_000, 60.07967, 'lat'],
    ]);
  });

  it('§5.1.4 resolved data: the resolved form of §5.1.3 decodes to the same points', () => {
    expect(senml(S514)).toEqual(senml(S513));
  });

  it('§5.1.5 multiple data types: vs, vb and vd ride in extra', () => {
    expect(senml('[{"bn":"urn:dev:ow:10e2073a01080063:","n":"temp","u":"Cel","v":23.1},{"n":"label","vs":"Machine Room"},{"n":"open","vb":false},{"n":"nfc-reader","vd":"aGkgCg"}]')).toEqual([
      p(`${OW}:temp`, R, 23.1, { u: 'Cel' }),
      p(`${OW}:label`, R, null, { vs: 'Machine Room' }),
      p(`${OW}:open`, R, null, { vb: false }),
      p(`${OW}:nfc-reader`, R, null, { vd: 'aGkgCg' }),
    ]);
  });

  it('§5.1.6 collection of resources: a second base name; the first base time still applies', () => {
    const t = 1_320_078_429_000;
    expect(senml('[{"bn":"2001:db8::2/","bt":1.320078429e+09,"n":"temperature","u":"Cel","v":25.2},{"n":"humidity","u":"%RH","v":30},{"bn":"2001:db8::1/","n":"temperature","u":"Cel","v":12.3},{"n":"humidity","u":"%RH","v":67}]')).toEqual([
      p('2001:db8::2/temperature', t, 25.2, { u: 'Cel' }),
      p('2001:db8::2/humidity', t, 30, { u: '%RH' }),
      p('2001:db8::1/temperature', t, 12.3, { u: 'Cel' }),
      p('2001:db8::1/humidity', t, 67, { u: '%RH' }),
    ]);
  });

  it('§5.1.7 setting an actuator: a base-only record, then values', () => {
    expect(senml('[{"bn":"urn:dev:ow:10e2073a01080063:"},{"n":"temp","u":"Cel","v":23.1},{"n":"heat","u":"/","v":1},{"n":"fan","u":"/","v":0}]')).toEqual([
      p(`${OW}:temp`, R, 23.1, { u: 'Cel' }),
      p(`${OW}:heat`, R, 1, { u: '/' }),
      p(`${OW}:fan`, R, 0, { u: '/' }),
    ]);
    const t = 1_320_078_429_000;
    expect(senml('[{"bt":1.320078429e+09,"bu":"/","n":"2001:db8::3","v":1},{"n":"2001:db8::4","v":1}]')).toEqual([
      p('2001:db8::3', t, 1, { u: '/' }),
      p('2001:db8::4', t, 1, { u: '/' }),
    ]);
    expect(senml('[{"bt":1.320078429e+09,"bu":"/","n":"2001:db8::3","v":0.5},{"n":"2001:db8::4","v":0.5},{"n":"2001:db8::3","t":0.1,"v":0},{"n":"2001:db8::4","t":0.1,"v":0}]').map((x) => [x.metric, x.time - t, x.value])).toEqual([
      ['2001:db8::3', 0, 0.5], ['2001:db8::4', 0, 0.5], ['2001:db8::3', 100, 0], ['2001:db8::4', 100, 0],
    ]);
  });

  it('§6 CBOR representation (Table 4 labels) decodes like the JSON of §5.1.2', () => {
    const records = JSON.parse(S512B) as Record<string, unknown>[];
    const LABEL: Record<string, number> = { bver: -1, bn: -2, bt: -3, bu: -4, bv: -5, bs: -6, n: 0, u: 1, v: 2, vs: 3, vb: 4, s: 5, t: 6, ut: 7, vd: 8 };
    const labelled = records.map((r) => new Map(Object.entries(r).map(([k, v]) => [LABEL[k] as number, v])));
    // Maps with integer keys, encoded as plain CBOR maps (major type 5), as RFC 8428 §6 shows.
    const bytes = new Encoder({ useTag259ForMaps: false } as ConstructorParameters<typeof Encoder>[0]).encode(labelled);
    expect(bytes[1]).toBe(0xa7); // the first record: a map of 7 pairs
    const fromCbor = decode(msg(bytes, { receivedAt: R, contentType: 'application/senml+cbor' }));
    expect(fromCbor).toEqual(senml(S512B));
  });
});

describe('RFC 8428 resolution rules', () => {
  it('§4.1/§4.6 base value and base sum are added; sum and update time are kept', () => {
    expect(senml('[{"bn":"m:","bv":100,"bs":1000,"n":"e","v":5,"s":7,"ut":60}]')).toEqual([p('m:e', R, 105, { s: 1007, ut: 60 })]);
  });
  it('§4.4 bver above 10 and must-understand fields are refused; unknown fields are ignored', () => {
    expect(outcome(() => senml('[{"bver":11,"n":"a","v":1}]'))).toBe('SCHEMA_INVALID');
    expect(outcome(() => senml('[{"n":"a","v":1,"x_":1}]'))).toBe('SCHEMA_INVALID');
    expect(senml('[{"n":"a","v":1,"foo":"bar"}]')).toEqual([p('a', R, 1)]);
  });
  it('§4.2 one value field per record (a sum alone is allowed)', () => {
    expect(outcome(() => senml('[{"n":"a","v":1,"vs":"x"}]'))).toBe('SCHEMA_INVALID');
    expect(senml('[{"n":"a","s":2}]')).toEqual([p('a', R, null, { s: 2 })]);
  });
  it('§4.5.1 resolved names: non-empty, SenML characters, starting with a letter or digit', () => {
    expect(outcome(() => senml('[{"v":1}]'))).toBe('SCHEMA_INVALID');
    expect(outcome(() => senml('[{"n":"-a","v":1}]'))).toBe('SCHEMA_INVALID');
    expect(outcome(() => senml('[{"n":"a b","v":1}]'))).toBe('SCHEMA_INVALID');
  });
  it('§4.5.3 times of 2**28 s and above are absolute; below, relative to arrival', () => {
    const old = createDecoder({ maxAgeMs: 100 * 365 * 86_400_000 });
    expect(old(msg(`[{"n":"a","v":1,"t":${2 ** 28}}]`, { receivedAt: R }))[0]?.time).toBe(2 ** 28 * 1000); // 1978, absolute
    expect(senml('[{"n":"a","v":1,"t":-60}]')[0]?.time).toBe(R - 60_000);
    expect(outcome(() => senml(`[{"n":"a","v":1,"t":${2 ** 28 - 1}}]`))).toBe('SCHEMA_INVALID'); // relative: 8.5 years ahead
  });
});
