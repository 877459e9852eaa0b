import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@outpost/test-peers';
import { encodeLineProtocol, formatLine, type Line } from '../src/line-protocol.js';
import type { TelemetryPoint } from '../src/types.js';

// Examples from the InfluxDB line protocol references:
//  v1: https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/ (examples
//      under "Data types" and "Special characters and keywords")
//  v2: https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/ ("Special characters")
const DOC_CASES: [string, Line, string][] = [
  ['v1 basic', { measurement: 'weather', tags: { location: 'us-midwest' }, fields: { temperature: 82 }, timestamp: 1465839830100400200n }, 'weather,location=us-midwest temperature=82 1465839830100400200'],
  ['v1 integer', { measurement: 'weather', tags: { location: 'us-midwest' }, fields: { temperature: 82n }, timestamp: 1465839830100400200n }, 'weather,location=us-midwest temperature=82i 1465839830100400200'],
  ['v1 string', { measurement: 'weather', tags: { location: 'us-midwest' }, fields: { temperature: 'too warm' }, timestamp: 1465839830100400200n }, 'weather,location=us-midwest temperature="too warm" 1465839830100400200'],
  ['v1 boolean', { measurement: 'weather', tags: { location: 'us-midwest' }, fields: { too_hot: true }, timestamp: 1465839830100400200n }, 'weather,location=us-midwest too_hot=true 1465839830100400200'],
  ['v1 comma in tag value', { measurement: 'weather', tags: { location: 'us,midwest' }, fields: { temperature: 82 }, timestamp: 1465839830100400200n }, 'weather,location=us\\,midwest temperature=82 1465839830100400200'],
  ['v1 equals sign in field key', { measurement: 'weather', tags: { location: 'us-midwest' }, fields: { 'temp=rature': 82 }, timestamp: 1465839830100400200n }, 'weather,location=us-midwest temp\\=rature=82 1465839830100400200'],
  ['v1 space in tag key', { measurement: 'weather', tags: { 'location place': 'us-midwest' }, fields: { temperature: 82 }, timestamp: 1465839830100400200n }, 'weather,location\\ place=us-midwest temperature=82 1465839830100400200'],
  ['v1 comma in measurement', { measurement: 'wea,ther', tags: { location: 'us-midwest' }, fields: { temperature: 82 }, timestamp: 1465839830100400200n }, 'wea\\,ther,location=us-midwest temperature=82 1465839830100400200'],
  ['v1 space in measurement', { measurement: 'wea ther', tags: { location: 'us-midwest' }, fields: { temperature: 82 }, timestamp: 1465839830100400200n }, 'wea\\ ther,location=us-midwest temperature=82 1465839830100400200'],
  ['v1 double quotes in string field', { measurement: 'weather', tags: { location: 'us-midwest' }, fields: { temperature: 'too"hot"' }, timestamp: 1465839830100400200n }, 'weather,location=us-midwest temperature="too\\"hot\\"" 1465839830100400200'],
  ['v1 no tags, no timestamp', { measurement: 'weather', fields: { temperature: 82 } }, 'weather temperature=82'],
  ['v2 measurement with spaces', { measurement: 'my Measurement', fields: { fieldKey: 'string value' } }, 'my\\ Measurement fieldKey="string value"'],
  ['v2 double quote in string field', { measurement: 'myMeasurement', fields: { fieldKey: '"string" within a string' } }, 'myMeasurement fieldKey="\\"string\\" within a string"'],
  ['v2 tag keys and values with spaces', { measurement: 'myMeasurement', tags: { 'tag Key1': 'tag Value1', 'tag Key2': 'tag Value2' }, fields: { fieldKey: 100 } }, 'myMeasurement,tag\\ Key1=tag\\ Value1,tag\\ Key2=tag\\ Value2 fieldKey=100'],
  ['v2 emojis', { measurement: 'myMeasurement', tags: { tagKey: '🍭' }, fields: { fieldKey: 'Launch 🚀' }, timestamp: 1556813561098000000n }, 'myMeasurement,tagKey=🍭 fieldKey="Launch 🚀" 1556813561098000000'],
  ['v2 backslash in string field', { measurement: 'myMeasurement', fields: { fieldKey: 'C:\\path\\' } }, 'myMeasurement fieldKey="C:\\\\path\\\\"'],
  ['v2 syntax example', { measurement: 'myMeasurement', tags: { tag1: 'value1', tag2: 'value2' }, fields: { fieldKey: 'fieldValue' }, timestamp: 1556813561098000000n }, 'myMeasurement,tag1=value1,tag2=value2 fieldKey="fieldValue" 1556813561098000000'],
  ['v2 float exponent', { measurement: 'myMeasurement', fields: { fieldKey: -1.234456e78 } }, 'myMeasurement fieldKey=-1.234456e+78'],
  ['tags sorted by key (Go bytes.Compare order)', { measurement: 'm', tags: { b: '1', a: '2', B: '3', 'é': '4', '\uffff': '5', '😀': '6' }, fields: { f: 1 } }, 'm,B=3,a=2,b=1,é=4,\uffff=5,😀=6 f=1'],
  ['empty tag value is omitted', { measurement: 'm', tags: { a: '', b: 'x' }, fields: { f: false } }, 'm,b=x f=false'],
  ['integer limits', { measurement: 'm', fields: { lo: -(2n ** 63n), hi: 2n ** 63n - 1n } }, 'm lo=-9223372036854775808i,hi=9223372036854775807i'],
];

describe('formatLine: the documentation’s examples', () => {
  for (const [title, line, want] of DOC_CASES) {
    it(title, () => expect(formatLine(line)).toBe(want));
  }
});

describe('formatLine rejects what line protocol cannot carry', () => {
  const cases: [string, unknown, ErrorConstructor, RegExp][] = [
    ['newline in a tag value', { measurement: 'm', tags: { t: 'a\nb' }, fields: { f: 1 } }, RangeError, /newline/],
    ['newline in a string field', { measurement: 'm', fields: { f: 'a\nb' } }, RangeError, /newline/],
    ['newline in the measurement', { measurement: 'm\n', fields: { f: 1 } }, RangeError, /newline/],
    ['backslash in a tag value', { measurement: 'm', tags: { t: 'a\\' }, fields: { f: 1 } }, RangeError, /backslash/],
    ['backslash in a field key', { measurement: 'm', fields: { 'f\\,': 1 } }, RangeError, /backslash/],
    ['underscore prefix on the measurement', { measurement: '_m', fields: { f: 1 } }, RangeError, /reserved/],
    ['underscore prefix on a tag key', { measurement: 'm', tags: { _t: 'x' }, fields: { f: 1 } }, RangeError, /reserved/],
    ['underscore prefix on a field key', { measurement: 'm', fields: { _field: 1 } }, RangeError, /reserved/],
    ['no fields', { measurement: 'm', fields: {} }, RangeError, /at least one field/],
    ['empty measurement', { measurement: '', fields: { f: 1 } }, RangeError, /empty/],
    ['NaN', { measurement: 'm', fields: { f: NaN } }, RangeError, /finite/],
    ['Infinity', { measurement: 'm', fields: { f: -Infinity } }, RangeError, /finite/],
    ['integer overflow', { measurement: 'm', fields: { f: 2n ** 63n } }, RangeError, /64-bit/],
    ['string over 64 KiB', { measurement: 'm', fields: { f: 'é'.repeat(40_000) } }, RangeError, /64 KiB/],
    ['fractional timestamp', { measurement: 'm', fields: { f: 1 }, timestamp: 1.5 }, RangeError, /timestamp/],
    ['not an object', 'm f=1', TypeError, /line: expected an object, got string/],
    ['measurement not a string', { measurement: 5, fields: { f: 1 } }, TypeError, /line.measurement: expected a string measurement, got number/],
    ['tag value not a string', { measurement: 'm', tags: { t: 1 }, fields: { f: 1 } }, TypeError, /line.tags\['t'\]: expected a string tag value, got number/],
    ['field value of a wrong type', { measurement: 'm', fields: { f: null } }, TypeError, /line.fields\['f'\]: expected a number, bigint, boolean or string field value, got null/],
    ['fields not an object', { measurement: 'm', fields: 'f=1' }, TypeError, /line.fields/],
    ['timestamp a string', { measurement: 'm', fields: { f: 1 }, timestamp: '1' }, TypeError, /line.timestamp/],
  ];
  for (const [title, line, type, msg] of cases) {
    it(title, () => {
      expect(() => formatLine(line as Line)).toThrow(type);
      expect(() => formatLine(line as Line)).toThrow(msg);
    });
  }
});

// ---- an independent parser, written from the documented grammar, for the round trip ----
interface Parsed {
  measurement: string;
  tags: [string, string][];
  fields: [string, string | number | bigint | boolean][];
  timestamp?: string;
}
function parseLine(s: string): Parsed {
  let i = 0;
  // read until one of `stops` that is not escaped; `escapable` lists what a backslash may escape
  const read = (stops: string, escapable: string): string => {
    let out = '';
    while (i < s.length && !stops.includes(s[i] as string)) {
      if (s[i] === '\\' && i + 1 < s.length && escapable.includes(s[i + 1] as string)) {
        out += s[i + 1];
        i += 2;
      } else out += s[i++];
    }
    return out;
  };
  const expectChar = (c: string): void => {
    if (s[i] !== c) throw new Error(`expected '${c}' at ${i} in ${JSON.stringify(s)}`);
    i++;
  };
  const measurement = read(', ', ', ');
  const tags: [string, string][] = [];
  while (s[i] === ',') {
    i++;
    const k = read('=', ',= ');
    expectChar('=');
    tags.push([k, read(', ', ',= ')]);
  }
  expectChar(' ');
  const fields: [string, string | number | bigint | boolean][] = [];
  for (;;) {
    const k = read('=', ',= ');
    expectChar('=');
    if (s[i] === '"') {
      i++;
      let v = '';
      while (s[i] !== '"') {
        if (i >= s.length) throw new Error('unterminated string');
        if (s[i] === '\\' && (s[i + 1] === '"' || s[i + 1] === '\\')) {
          v += s[i + 1];
          i += 2;
        } else v += s[i++];
      }
      i++;
      fields.push([k, v]);
    } else {
      const raw = read(', ', '');
      if (raw === 'true' || raw === 'false') fields.push([k, raw === 'true']);
      else if (/^-?\d+i$/.test(raw)) fields.push([k, BigInt(raw.slice(0, -1))]);
      else if (/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw)) fields.push([k, Number(raw)]);
      else throw new Error(`bad field value ${raw}`);
    }
    if (s[i] !== ',') break;
    i++;
  }
  const out: Parsed = { measurement, tags, fields };
  if (s[i] === ' ') {
    i++;
    out.timestamp = s.slice(i);
    if (!/^-?\d+$/.test(out.timestamp)) throw new Error(`bad timestamp ${out.timestamp}`);
  } else if (i !== s.length) throw new Error(`trailing text at ${i}`);
  return out;
}

describe('independent parser (sanity)', () => {
  it('reads the documentation examples back', () => {
    expect(parseLine('weather,location=us\\,midwest temp\\=rature=82i,s="too\\"hot\\"" 1465839830100400200')).toEqual({
      measurement: 'weather',
      tags: [['location', 'us,midwest']],
      fields: [
        ['temp=rature', 82n],
        ['s', 'too"hot"'],
      ],
      timestamp: '1465839830100400200',
    });
  });
});

describe('seeded fuzz: escaping round-trips through the independent parser', () => {
  const ALPHABET = ['a', 'Z', '0', ' ', ',', '=', '"', '\\', "'", '\t', '\r', 'é', '中', '🚀', '#', '_', '-', '.'];
  function randomString(rnd: () => number, max: number): string {
    const n = Math.floor(rnd() * max);
    let s = '';
    for (let j = 0; j < n; j++) s += ALPHABET[Math.floor(rnd() * ALPHABET.length)];
    return s;
  }
  function randomName(rnd: () => number): string {
    // names: not empty, no backslash, not starting with "_" (those are rejected, tested below)
    let s = '';
    while (s === '' || s.startsWith('_')) s = randomString(rnd, 8).replace(/\\/g, '');
    return s;
  }

  it('10,000 random lines parse back to what was encoded', () => {
    const rnd = mulberry32(0x11ee);
    for (let n = 0; n < 10_000; n++) {
      const tags: Record<string, string> = {};
      for (let t = Math.floor(rnd() * 4); t > 0; t--) tags[randomName(rnd)] = randomName(rnd);
      const fields: Record<string, string | number | bigint | boolean> = {};
      for (let f = 1 + Math.floor(rnd() * 4); f > 0; f--) {
        const kind = Math.floor(rnd() * 4);
        fields[randomName(rnd)] =
          kind === 0 ? randomString(rnd, 12) : kind === 1 ? (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20) : kind === 2 ? BigInt(Math.floor((rnd() - 0.5) * 2 ** 53)) : rnd() < 0.5;
      }
      const line: Line = { measurement: randomName(rnd), tags, fields, ...(rnd() < 0.7 ? { timestamp: BigInt(Math.floor(rnd() * 2 ** 53)) * 1000n } : {}) };
      const text = formatLine(line);
      expect(text).not.toContain('\n');
      const parsed = parseLine(text);
      expect(parsed.measurement).toBe(line.measurement);
      const wantTags = Object.entries(tags)
        .filter(([, v]) => v !== '')
        .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(parsed.tags).toEqual(wantTags);
      expect(parsed.fields).toEqual(Object.entries(fields));
      expect(parsed.timestamp).toBe(line.timestamp === undefined ? undefined : String(line.timestamp));
    }
  });

  it('random names with a backslash or a newline are rejected with RangeError, never mis-encoded', () => {
    const rnd = mulberry32(7);
    for (let n = 0; n < 2_000; n++) {
      const bad = `${randomName(rnd)}${rnd() < 0.5 ? '\\' : '\n'}${randomString(rnd, 4)}`;
      const where = Math.floor(rnd() * 4);
      const line: Line =
        where === 0
          ? { measurement: bad, fields: { f: 1 } }
          : where === 1
            ? { measurement: 'm', tags: { [bad]: 'v' }, fields: { f: 1 } }
            : where === 2
              ? { measurement: 'm', tags: { t: bad }, fields: { f: 1 } }
              : { measurement: 'm', fields: { [bad]: 1 } };
      expect(() => formatLine(line)).toThrow(RangeError);
    }
  });
});

describe('encodeLineProtocol: telemetry points', () => {
  const T = 1_700_000_000_123;
  const p: TelemetryPoint = { device: 'pump 1', time: T, metric: 'temperature', value: 21.5, extra: { unit: '°C', site: 'north,east', ok: true, n: 3, meta: { a: [1] }, nothing: null } };

  it('maps device to a tag, the metric to the field key, extra to fields, one terminated line per point', () => {
    expect(encodeLineProtocol([p])).toBe(
      'telemetry,device=pump\\ 1 temperature=21.5,unit="°C",site="north,east",ok=true,n=3,meta="{\\"a\\":[1]}" 1700000000123000000\n',
    );
  });

  it('tags from extra, a chosen field list, measurement per metric', () => {
    expect(encodeLineProtocol([p], { tags: ['site', 'ok'], fields: ['n'], metricAs: 'measurement', valueField: 'v', deviceTag: 'host', measurement: 'ignored' })).toBe(
      'temperature,host=pump\\ 1,ok=true,site=north\\,east v=21.5,n=3 1700000000123000000\n',
    );
  });

  it('timestamp precision from epoch ms', () => {
    const one = (precision: 'ns' | 'us' | 'ms' | 's', time = T): string =>
      encodeLineProtocol([{ device: 'd', time, metric: 'm', value: 1 }], { precision }).trim().split(' ').at(-1) as string;
    expect(one('ns')).toBe('1700000000123000000');
    expect(one('us')).toBe('1700000000123000');
    expect(one('ms')).toBe('1700000000123');
    expect(one('s')).toBe('1700000000');
    expect(one('s', -1)).toBe('-1'); // floor, not truncation, before the epoch
    expect(one('ns', -1)).toBe('-1000000');
  });

  it('a point with value null and no field in extra is skipped; with extra fields it is written without the value', () => {
    const pts: TelemetryPoint[] = [
      { device: 'd', time: T, metric: 'm', value: null },
      { device: 'd', time: T, metric: 'state', value: null, extra: { text: 'open' } },
      { device: 'd', time: T, metric: 'm', value: null, extra: { site: 'x' } },
    ];
    expect(encodeLineProtocol(pts, { tags: ['site'], precision: 'ms' })).toBe('telemetry,device=d text="open" 1700000000123\n');
    expect(encodeLineProtocol([])).toBe('');
  });

  it('errors name the point', () => {
    expect(() => encodeLineProtocol([p, { ...p, device: 'a\nb' }])).toThrow(/points\[1\]: .*newline/);
    expect(() => encodeLineProtocol([{ ...p, metric: '_internal' }])).toThrow(RangeError);
  });

  it('wrong types', () => {
    expect(() => encodeLineProtocol('x' as never)).toThrow(/points: expected an array/);
    expect(() => encodeLineProtocol([null as never])).toThrow(/points\[0\]: expected a TelemetryPoint object, got null/);
    expect(() => encodeLineProtocol([{ ...p, device: 1 as never }])).toThrow(/points\[0\]\.device: expected a string, got number/);
    expect(() => encodeLineProtocol([{ ...p, time: '1' as never }])).toThrow(TypeError);
    expect(() => encodeLineProtocol([{ ...p, time: 1.5 }])).toThrow(RangeError);
    expect(() => encodeLineProtocol([{ ...p, value: '1' as never }])).toThrow(/points\[0\]\.value/);
    expect(() => encodeLineProtocol([{ ...p, extra: 'x' as never }])).toThrow(/points\[0\]\.extra/);
    expect(() => encodeLineProtocol([p], null as never)).toThrow(TypeError);
    expect(() => encodeLineProtocol([p], { precision: 'm' as never })).toThrow(RangeError);
    expect(() => encodeLineProtocol([p], { metricAs: 'tag' as never })).toThrow(RangeError);
    expect(() => encodeLineProtocol([p], { tags: 'site' as never })).toThrow(/options.tags/);
    expect(() => encodeLineProtocol([p], { fields: 5 as never })).toThrow(/options.fields/);
    expect(() => encodeLineProtocol([p], { measurement: 5 as never })).toThrow(/options.measurement: expected a string/);
  });
});

describe('the InfluxDB sink fast path (measurementLine)', () => {
  it('gives exactly the line pointLine gives, for plain and awkward seeded points alike', async () => {
    const { measurementLine, pointLine, resolveLineOptions } = await import('../src/line-protocol.js');
    const { mulberry32 } = await import('@outpost/test-peers');
    const rnd = mulberry32(7);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const opts = resolveLineOptions({ metricAs: 'measurement', precision: 'ms' });
    const names = ['temp', 'battery_mv', 'a.b:c-d', 'with space', 'comma,x', '_reserved', 'eq=x', 'ü', ''];
    const values = [1, -2.5, 0, 1e21, 3.14159, null, Number.NaN, Infinity];
    const extras = [undefined, { unit: 'Cel' }, { ok: true, n: 3 }, { q: 'say "hi"' }, { nested: { a: [1, 2] } }, { value: 9, device: 'x' }, { 'k y': 1 }, { s: 'x'.repeat(20_000) }, { nl: 'a\nb' }, { z: null }];
    let compared = 0;
    for (let i = 0; i < 2_000; i++) {
      const p = { device: pick(['pump-1', 'dev.2', 'with space', 'c,d', '_x', '']), metric: pick(names), time: pick([0, 1_700_000_000_123, 1.5]), value: pick(values), ...(rnd() < 0.5 ? {} : { extra: pick(extras) }) } as TelemetryPoint;
      const slow = (() => { try { return pointLine(p, i, opts); } catch (e) { return `${(e as Error).name}: ${(e as Error).message}`; } })();
      const fast = (() => { try { return measurementLine(p, i, opts); } catch (e) { return `${(e as Error).name}: ${(e as Error).message}`; } })();
      expect(fast, JSON.stringify(p)).toBe(slow);
      if (!slow.includes('Error')) compared++;
    }
    expect(compared).toBeGreaterThan(200); // enough points took the fast path's happy side
  });
});
