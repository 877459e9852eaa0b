import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import * as sdk from '@outpost/device-sdk';
import { compareKeepAlive, DeviceError, formatKeepAliveTable, planKeepAlive, type KeepAliveOptions, type TransportProfile } from '@outpost/device-sdk';

const TLS12_V4_TS: TransportProfile = { tlsVersion: '1.2', ipVersion: 4, tcpTimestamps: true };
const AWS = { brokerMinKeepAliveS: 30, brokerMaxKeepAliveS: 1200 } as const;

function expectDeviceError(call: () => unknown, message: RegExp): void {
  let caught: unknown;
  try { call(); } catch (err) { caught = err; }
  expect(caught).toBeInstanceOf(DeviceError);
  expect((caught as DeviceError).code).toBe('INVALID_OPTION');
  expect((caught as DeviceError).message).toMatch(message);
}

describe('worked example (docs-keepalive.md)', () => {
  // Cellular device, carrier NAT 300 s, TLS 1.2 AES-GCM, IPv4 + timestamps, $10/MB, 10 J/wake-up.
  const options: KeepAliveOptions = { natTimeoutS: 300, transport: TLS12_V4_TS, costPerMegabyte: 10, energyPerWakeupJ: 10, ...AWS };

  test('planner picks 80% of the NAT timeout', () => {
    const plan = planKeepAlive(options);
    expect(plan.keepAliveS).toBe(240);
    expect(plan.reason).toBe('nat-timeout');
    expect(plan.pingsPerDay).toBe(360);
    expect(plan.bytesPerPing).toEqual({ mqtt: 4, tlsRecord: 58, tcpIpHeaders: 104, acks: 52, total: 218, segments: 3 });
    expect(plan.bytesPerDay).toBe(78_480);
    expect(plan.costPerDay).toBeCloseTo(0.7848, 10);
    expect(plan.wakeupsPerDay).toBe(360);
    expect(plan.energyPerDayJ).toBe(3600);
    expect(plan.chargePerDayMah).toBeCloseTo(3600 / 3.7 / 3.6, 10);
    expect(plan.brokerDisconnectAfterS).toBe(360);
    expect(plan.deviceDetectionS).toBe(360);
  });

  test('versus a naive 60 s keep-alive', () => {
    const [naive, planned] = compareKeepAlive(options, [60, 240]);
    expect(naive?.pingsPerDay).toBe(1440);
    expect(naive?.bytesPerDay).toBe(313_920);
    expect(naive?.costPerDay).toBeCloseTo(3.1392, 10);
    expect(naive?.energyPerDayJ).toBe(14_400);
    expect(naive?.violations).toEqual([]);
    expect((naive?.energyPerDayJ ?? 0) / (planned?.energyPerDayJ ?? 1)).toBe(4);
  });

  test("Azure's 4-minute load balancer: 192 s at the default margin, its SDK's 180 s at 0.75", () => {
    expect(planKeepAlive({ natTimeoutS: 240 }).keepAliveS).toBe(192);
    expect(planKeepAlive({ natTimeoutS: 240, safetyFactor: 0.75 }).keepAliveS).toBe(180);
  });

  test("GSMA TS.34's 29-minute default is capped by AWS IoT Core's 1200 s", () => {
    const plan = planKeepAlive({ natTimeoutS: 29 * 60, ...AWS });
    expect(plan.keepAliveS).toBe(1200);
    expect(plan.reason).toBe('broker-max');
    expect(plan.notes.join('\n')).toMatch(/Server Keep Alive/);
  });
});

describe('binding constraints', () => {
  test('detection time: 1.5 × keep-alive ≤ maxDetectionS', () => {
    const plan = planKeepAlive({ natTimeoutS: 300, maxDetectionS: 90 });
    expect(plan.keepAliveS).toBe(60);
    expect(plan.reason).toBe('detection-time');
    expect(plan.brokerDisconnectAfterS).toBe(90);
  });

  test('NAT tighter than the broker minimum is a DeviceError', () => {
    expectDeviceError(() => planKeepAlive({ natTimeoutS: 30, ...AWS }), /natTimeoutS × safetyFactor = 30 × 0.8 allows at most 24 s, below brokerMinKeepAliveS 30 s/);
  });

  test('detection tighter than the broker minimum is a DeviceError', () => {
    expectDeviceError(() => planKeepAlive({ natTimeoutS: 300, maxDetectionS: 30, ...AWS }), /maxDetectionS/);
  });

  test('a NAT timeout under 1.25 s leaves no keep-alive (0 would turn it off)', () => {
    expectDeviceError(() => planKeepAlive({ natTimeoutS: 1 }), /at most 0 s/);
  });

  test('fastest-detection without budgets: the broker minimum', () => {
    const plan = planKeepAlive({ natTimeoutS: 300, prefer: 'fastest-detection', ...AWS });
    expect(plan).toMatchObject({ keepAliveS: 30, reason: 'broker-min' });
  });

  test('fastest-detection with a cost budget: the shortest interval that fits it', () => {
    // cost/day = 86400 / k × 218 B / 10^6 × $10 = 188.352 / k ≤ 1 → k ≥ 188.352 → 189
    const plan = planKeepAlive({ natTimeoutS: 300, transport: TLS12_V4_TS, costPerMegabyte: 10, maxCostPerDay: 1, prefer: 'fastest-detection', ...AWS });
    expect(plan).toMatchObject({ keepAliveS: 189, reason: 'cost-budget' });
    expect(plan.costPerDay).toBeLessThanOrEqual(1);
    const [below] = compareKeepAlive({ natTimeoutS: 300, transport: TLS12_V4_TS, costPerMegabyte: 10, maxCostPerDay: 1 }, [188]);
    expect(below?.violations).toEqual(['cost-budget']);
  });

  test('fastest-detection with an energy budget', () => {
    // 864000 / k ≤ 4320 → k ≥ 200
    const plan = planKeepAlive({ natTimeoutS: 300, energyPerWakeupJ: 10, maxEnergyPerDayJ: 4320, prefer: 'fastest-detection' });
    expect(plan).toMatchObject({ keepAliveS: 200, reason: 'energy-budget', energyPerDayJ: 4320 });
  });

  test('a budget no safe interval meets is a DeviceError', () => {
    expectDeviceError(() => planKeepAlive({ natTimeoutS: 300, transport: TLS12_V4_TS, costPerMegabyte: 10, maxCostPerDay: 0.5 }), /maxCostPerDay 0.5 cannot be met: the longest safe keep-alive \(240 s, nat-timeout\) costs 0.7848 per day/);
    expectDeviceError(() => planKeepAlive({ natTimeoutS: 300, energyPerWakeupJ: 10, maxEnergyPerDayJ: 100 }), /maxEnergyPerDayJ 100 cannot be met/);
  });

  test('lowest-cost with a met budget still takes the longest safe interval', () => {
    const plan = planKeepAlive({ natTimeoutS: 300, transport: TLS12_V4_TS, costPerMegabyte: 10, maxCostPerDay: 1 });
    expect(plan).toMatchObject({ keepAliveS: 240, reason: 'nat-timeout' });
  });
});

describe('application traffic, radio and notes', () => {
  test('exchanges more often than the keep-alive leave no pings', () => {
    const plan = planKeepAlive({ natTimeoutS: 300, appMessagesPerHour: 60, energyPerWakeupJ: 10 });
    expect(plan.pingsPerDay).toBe(0);
    expect(plan.bytesPerDay).toBe(0);
    expect(plan.energyPerDayJ).toBe(0);
    expect(plan.notes.join('\n')).toMatch(/QoS 0 publishes do not save pings/);
  });

  test('a vanishing application rate counts as no traffic', () => {
    expect(planKeepAlive({ natTimeoutS: 300, appMessagesPerHour: Number.MIN_VALUE }).pingsPerDay).toBe(360);
  });

  test('one ping per 360 s gap at keep-alive 240 s', () => {
    // 10 exchanges/hour → gap 360 s → pings at 240 s only → 240 gaps/day × 1
    expect(planKeepAlive({ natTimeoutS: 300, appMessagesPerHour: 10 }).pingsPerDay).toBe(240);
  });

  test('pings inside the radio tail cost a share of it and wake nothing', () => {
    const plan = planKeepAlive({ natTimeoutS: 7, energyPerWakeupJ: 10 });
    expect(plan.keepAliveS).toBe(5);
    expect(plan.pingsPerDay).toBe(17_280);
    expect(plan.wakeupsPerDay).toBe(0);
    expect(plan.energyPerDayJ).toBe(86_400); // 1 W all day: the radio never idles
    expect(plan.notes.join('\n')).toMatch(/never returns to idle/);
    expect(plan.notes.join('\n')).toMatch(/Only 2 s between a ping and the NAT timeout/);
  });

  test('billing note only when data is priced', () => {
    expect(planKeepAlive({ natTimeoutS: 300 }).notes).toEqual([]);
    expect(planKeepAlive({ natTimeoutS: 300, costPerMegabyte: 1 }).notes.join('\n')).toMatch(/rounded increments/);
  });
});

describe('compareKeepAlive and formatKeepAliveTable', () => {
  test('violations name every broken constraint', () => {
    const rows = compareKeepAlive({ natTimeoutS: 300, maxDetectionS: 300, ...AWS }, [10, 200, 250, 1300]);
    expect(rows.map((r) => r.violations)).toEqual([
      ['broker-min'], [], ['nat-timeout', 'detection-time'], ['nat-timeout', 'detection-time', 'broker-max'],
    ]);
  });

  test('table has a header, a rule and one line per row', () => {
    const table = formatKeepAliveTable(compareKeepAlive({ natTimeoutS: 300, transport: TLS12_V4_TS, costPerMegabyte: 10, energyPerWakeupJ: 10 }, [60, 240, 600]), 'USD');
    const lines = table.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toContain('cost/day (USD)');
    expect(lines[2]).toBe('| 60 | 1440 | 218 | 313920 | 3.139 | 14400 | 90 | — |');
    expect(lines[4]).toBe('| 600 | 144 | 218 | 31392 | 0.314 | 1440 | 900 | nat-timeout |');
  });

  test('candidates are validated', () => {
    expect(() => compareKeepAlive({ natTimeoutS: 300 }, 60 as unknown as number[])).toThrow(TypeError);
    expect(() => compareKeepAlive({ natTimeoutS: 300 }, ['60' as unknown as number])).toThrow(/candidates\[0\]: expected a number/);
    expect(() => compareKeepAlive({ natTimeoutS: 300 }, [60, 0])).toThrow(RangeError);
    expect(() => compareKeepAlive({ natTimeoutS: 300 }, [1.5])).toThrow(/candidates\[0\]: expected an integer in \[1, 65535\], got number 1.5/);
    expect(() => compareKeepAlive({ natTimeoutS: 300 }, [65_536])).toThrow(RangeError);
    expect(() => formatKeepAliveTable('rows' as unknown as [])).toThrow(TypeError);
    expect(() => formatKeepAliveTable([], 1 as unknown as string)).toThrow(TypeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const transportArb: fc.Arbitrary<TransportProfile> = fc.record({
  tlsVersion: fc.constantFrom('1.2' as const, '1.3' as const),
  ipVersion: fc.constantFrom(4 as const, 6 as const),
  tcpTimestamps: fc.boolean(),
  tls12Aead: fc.constantFrom('aes-gcm' as const, 'chacha20-poly1305' as const),
});

const optionsArb = fc.record({
  natTimeoutS: fc.double({ min: 1, max: 100_000, noNaN: true }),
  safetyFactor: fc.double({ min: 0.05, max: 1, noNaN: true }),
  broker: fc.tuple(fc.integer({ min: 1, max: 65_535 }), fc.integer({ min: 1, max: 65_535 })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const),
  maxDetectionS: fc.option(fc.double({ min: 1, max: 100_000, noNaN: true }), { nil: undefined }),
  transport: transportArb,
  pureAcks: fc.constantFrom(0 as const, 1 as const, 2 as const),
  costPerMegabyte: fc.double({ min: 0, max: 100, noNaN: true }),
  energyPerWakeupJ: fc.double({ min: 0, max: 100, noNaN: true }),
  appMessagesPerHour: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 3600, noNaN: true })),
}).map((o): KeepAliveOptions => ({
  natTimeoutS: o.natTimeoutS,
  safetyFactor: o.safetyFactor,
  brokerMinKeepAliveS: o.broker[0],
  brokerMaxKeepAliveS: o.broker[1],
  ...(o.maxDetectionS === undefined ? {} : { maxDetectionS: o.maxDetectionS }),
  transport: o.transport,
  pureAcks: o.pureAcks,
  costPerMegabyte: o.costPerMegabyte,
  energyPerWakeupJ: o.energyPerWakeupJ,
  appMessagesPerHour: o.appMessagesPerHour,
}));

/** The plan, or undefined when the planner refused with the documented DeviceError. */
function tryPlan(options: KeepAliveOptions): ReturnType<typeof planKeepAlive> | undefined {
  try {
    return planKeepAlive(options);
  } catch (err) {
    if (err instanceof DeviceError && err.code === 'INVALID_OPTION') return undefined;
    throw err;
  }
}

describe('properties', () => {
  test('the keep-alive respects every bound, and refuses exactly when the bounds cross', () => {
    fc.assert(fc.property(optionsArb, (o) => {
      const natBound = Math.floor(o.natTimeoutS * (o.safetyFactor ?? 0.8));
      const detectionBound = o.maxDetectionS === undefined ? Infinity : Math.floor(o.maxDetectionS / 1.5);
      const min = o.brokerMinKeepAliveS ?? 1;
      const max = o.brokerMaxKeepAliveS ?? 65_535;
      const plan = tryPlan(o);
      const feasible = Math.min(natBound, detectionBound, max) >= min;
      expect(plan !== undefined).toBe(feasible);
      if (plan === undefined) return;
      expect(Number.isInteger(plan.keepAliveS)).toBe(true);
      expect(plan.keepAliveS).toBeLessThanOrEqual(o.natTimeoutS * (o.safetyFactor ?? 0.8));
      expect(plan.keepAliveS).toBeLessThanOrEqual(max);
      expect(plan.keepAliveS).toBeGreaterThanOrEqual(min);
      expect(plan.brokerDisconnectAfterS).toBeLessThanOrEqual(o.maxDetectionS ?? Infinity);
      expect(plan.keepAliveS).toBe(Math.min(natBound, detectionBound, max)); // lowest-cost takes the top
    }), { numRuns: 500 });
  });

  test('a larger NAT timeout never gives a smaller keep-alive', () => {
    fc.assert(fc.property(optionsArb, fc.double({ min: 0, max: 100_000, noNaN: true }), (o, extra) => {
      const a = tryPlan(o);
      const b = tryPlan({ ...o, natTimeoutS: o.natTimeoutS + extra });
      if (a === undefined) return;
      expect(b).toBeDefined();
      expect(b?.keepAliveS).toBeGreaterThanOrEqual(a.keepAliveS);
    }), { numRuns: 300 });
  });

  test('bytes/day = pings/day × bytes/ping; cost and energy follow', () => {
    fc.assert(fc.property(optionsArb, fc.array(fc.integer({ min: 1, max: 65_535 }), { minLength: 1, maxLength: 8 }), (o, ks) => {
      for (const row of compareKeepAlive(o, ks)) {
        expect(row.bytesPerDay).toBe(row.pingsPerDay * row.bytesPerPing.total);
        expect(row.costPerDay).toBeCloseTo((row.bytesPerDay / 1e6) * (o.costPerMegabyte ?? 0), 9);
        expect(row.energyPerDayJ).toBeLessThanOrEqual(row.pingsPerDay * (o.energyPerWakeupJ ?? 0) + 1e-9);
        expect(row.bytesPerPing.total).toBe(row.bytesPerPing.mqtt + row.bytesPerPing.tlsRecord + row.bytesPerPing.tcpIpHeaders + row.bytesPerPing.acks);
      }
      const plan = tryPlan(o);
      if (plan !== undefined) expect(plan.bytesPerDay).toBe(plan.pingsPerDay * plan.bytesPerPing.total);
    }), { numRuns: 300 });
  });

  test('pings, bytes and energy per day never rise with the keep-alive', () => {
    fc.assert(fc.property(optionsArb, fc.array(fc.integer({ min: 1, max: 65_535 }), { minLength: 2, maxLength: 10 }), (o, ks) => {
      const rows = compareKeepAlive(o, [...ks].sort((x, y) => x - y));
      for (let i = 1; i < rows.length; i++) {
        const prev = rows[i - 1], cur = rows[i];
        expect(cur?.pingsPerDay).toBeLessThanOrEqual(prev?.pingsPerDay ?? Infinity);
        expect(cur?.energyPerDayJ).toBeLessThanOrEqual((prev?.energyPerDayJ ?? Infinity) + 1e-9);
      }
    }), { numRuns: 300 });
  });

  test('fastest-detection returns the shortest interval within the budgets', () => {
    fc.assert(fc.property(optionsArb, fc.double({ min: 0, max: 50, noNaN: true }), (o, budget) => {
      const opts: KeepAliveOptions = { ...o, maxCostPerDay: budget, prefer: 'fastest-detection' };
      const plan = tryPlan(opts);
      if (plan === undefined) return;
      expect(plan.costPerDay).toBeLessThanOrEqual(budget);
      const min = o.brokerMinKeepAliveS ?? 1;
      if (plan.keepAliveS > min) {
        const [shorter] = compareKeepAlive(opts, [plan.keepAliveS - 1]);
        expect(shorter?.violations).toContain('cost-budget');
      } else {
        expect(plan.reason).toBe('broker-min');
      }
    }), { numRuns: 300 });
  });
});

// ---------------------------------------------------------------------------------------------
// Wrong-type matrix: every option, a wrong type (TypeError) and an out-of-range value (RangeError).

describe('planKeepAlive wrong-type matrix', () => {
  const T = TypeError, R = RangeError;
  const base = { natTimeoutS: 300 };
  const transport = { tlsVersion: '1.3', ipVersion: 4, tcpTimestamps: true };
  const cases: readonly [string, unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    ['options null', null, T, /options: expected an object, got null/],
    ['options number', 5, T, /options/],
    ['options array', [], T, /options: expected an object, got an array/],
    ['natTimeoutS missing', {}, T, /natTimeoutS: required/],
    ['natTimeoutS string', { natTimeoutS: '300' }, T, /natTimeoutS: expected a number, got string '300'/],
    ['natTimeoutS NaN', { natTimeoutS: Number.NaN }, R, /natTimeoutS: expected a finite number, got NaN/],
    ['natTimeoutS Infinity', { natTimeoutS: Infinity }, R, /natTimeoutS/],
    ['natTimeoutS 0', { natTimeoutS: 0 }, R, /natTimeoutS: expected a number > 0, got number 0/],
    ['natTimeoutS negative', { natTimeoutS: -5 }, R, /natTimeoutS/],
    ['unknown option', { ...base, natTimeout: 300 }, T, /unknown option "natTimeout"/],
    ['safetyFactor string', { ...base, safetyFactor: '0.8' }, T, /safetyFactor/],
    ['safetyFactor 0', { ...base, safetyFactor: 0 }, R, /safetyFactor: expected a number in \(0, 1\]/],
    ['safetyFactor 1.2', { ...base, safetyFactor: 1.2 }, R, /safetyFactor/],
    ['brokerMinKeepAliveS string', { ...base, brokerMinKeepAliveS: '30' }, T, /brokerMinKeepAliveS/],
    ['brokerMinKeepAliveS 0', { ...base, brokerMinKeepAliveS: 0 }, R, /brokerMinKeepAliveS: expected an integer in \[1, 65535\]/],
    ['brokerMinKeepAliveS fractional', { ...base, brokerMinKeepAliveS: 30.5 }, R, /brokerMinKeepAliveS/],
    ['brokerMaxKeepAliveS 65536', { ...base, brokerMaxKeepAliveS: 65_536 }, R, /brokerMaxKeepAliveS/],
    ['brokerMaxKeepAliveS boolean', { ...base, brokerMaxKeepAliveS: true }, T, /brokerMaxKeepAliveS: expected a number, got boolean/],
    ['broker min above max', { ...base, brokerMinKeepAliveS: 100, brokerMaxKeepAliveS: 50 }, R, /brokerMinKeepAliveS: expected ≤ brokerMaxKeepAliveS \(50\), got 100/],
    ['maxDetectionS string', { ...base, maxDetectionS: '90' }, T, /maxDetectionS/],
    ['maxDetectionS 0', { ...base, maxDetectionS: 0 }, R, /maxDetectionS/],
    ['transport null', { ...base, transport: null }, T, /transport: expected an object, got null/],
    ['transport missing field', { ...base, transport: { tlsVersion: '1.3', ipVersion: 4 } }, T, /tcpTimestamps/],
    ['transport.tlsVersion 1.1', { ...base, transport: { ...transport, tlsVersion: '1.1' } }, R, /tlsVersion/],
    ['transport.tlsVersion number', { ...base, transport: { ...transport, tlsVersion: 1.3 } }, T, /tlsVersion/],
    ['transport.ipVersion 5', { ...base, transport: { ...transport, ipVersion: 5 } }, R, /ipVersion/],
    ['transport.tcpTimestamps number', { ...base, transport: { ...transport, tcpTimestamps: 1 } }, T, /tcpTimestamps/],
    ['transport.tls12Aead unknown', { ...base, transport: { ...transport, tls12Aead: 'aes-cbc' } }, R, /tls12Aead/],
    ['transport unknown field', { ...base, transport: { ...transport, mtu: 1280 } }, T, /unknown field "mtu"/],
    ['pureAcks string', { ...base, pureAcks: '1' }, T, /pureAcks/],
    ['pureAcks 3', { ...base, pureAcks: 3 }, R, /pureAcks/],
    ['pureAcks null', { ...base, pureAcks: null }, T, /pureAcks: expected 0, 1 or 2, got null/],
    ['prefer null', { ...base, prefer: null }, T, /prefer/],
    ['costPerMegabyte string', { ...base, costPerMegabyte: '10' }, T, /costPerMegabyte/],
    ['costPerMegabyte negative', { ...base, costPerMegabyte: -1 }, R, /costPerMegabyte: expected a number ≥ 0, got number -1/],
    ['energyPerWakeupJ string', { ...base, energyPerWakeupJ: '10' }, T, /energyPerWakeupJ/],
    ['energyPerWakeupJ negative', { ...base, energyPerWakeupJ: -1 }, R, /energyPerWakeupJ/],
    ['radioTailS null', { ...base, radioTailS: null }, T, /radioTailS: expected a number, got null/],
    ['radioTailS negative', { ...base, radioTailS: -1 }, R, /radioTailS/],
    ['supplyVoltageV string', { ...base, supplyVoltageV: '3.7' }, T, /supplyVoltageV/],
    ['supplyVoltageV 0', { ...base, supplyVoltageV: 0 }, R, /supplyVoltageV/],
    ['appMessagesPerHour string', { ...base, appMessagesPerHour: '6' }, T, /appMessagesPerHour/],
    ['appMessagesPerHour Infinity', { ...base, appMessagesPerHour: Infinity }, R, /appMessagesPerHour/],
    ['maxCostPerDay string', { ...base, maxCostPerDay: '1' }, T, /maxCostPerDay/],
    ['maxCostPerDay negative', { ...base, maxCostPerDay: -1 }, R, /maxCostPerDay/],
    ['maxEnergyPerDayJ string', { ...base, maxEnergyPerDayJ: '1' }, T, /maxEnergyPerDayJ/],
    ['maxEnergyPerDayJ negative', { ...base, maxEnergyPerDayJ: -1 }, R, /maxEnergyPerDayJ/],
    ['prefer number', { ...base, prefer: 1 }, T, /prefer/],
    ['prefer unknown', { ...base, prefer: 'cheapest' }, R, /prefer: expected 'lowest-cost' or 'fastest-detection', got 'cheapest'/],
  ];
  test.each(cases)('%s', (_name, options, ErrorClass, message) => {
    const plan = (): unknown => (planKeepAlive as (o: unknown) => unknown)(options);
    expect(plan).toThrow(ErrorClass);
    expect(plan).toThrow(message);
    // compareKeepAlive shares the validation; its messages name compareKeepAlive instead.
    const compare = (): unknown => (compareKeepAlive as (o: unknown, c: number[]) => unknown)(options, [60]);
    expect(compare).toThrow(ErrorClass);
  });
});

// ---------------------------------------------------------------------------------------------
// Every @example in the keep-alive sources runs: `expr; // value` lines become assertions.

describe('TSDoc examples run', () => {
  const files = ['keepalive.ts', 'keepalive-model.ts'];
  const examples = files.flatMap((file) => {
    const source = readFileSync(fileURLToPath(new URL(`../src/${file}`, import.meta.url)), 'utf8');
    return [...source.matchAll(/@example\n \* ```ts\n([\s\S]*?) \* ```/g)].map((m, i) => ({
      name: `${file} example ${i + 1}`,
      code: (m[1] ?? '').split('\n').map((line) => line.replace(/^ \* ?/, '')).join('\n'),
    }));
  });

  test('found the examples', () => {
    // planKeepAlive, compareKeepAlive, formatKeepAliveTable, pingExchangeBytes
    expect(examples).toHaveLength(4);
  });

  test.each(examples)('$name', ({ code }) => {
    let assertions = 0;
    const body = code.split('\n').map((line) => {
      const imp = /^import \{([^}]+)\} from '@outpost\/device-sdk';$/.exec(line);
      if (imp !== null) return `const {${imp[1] ?? ''}} = sdk;`;
      const check = /^(.+?);\s*\/\/\s*(.+?)(?::\s.*)?$/.exec(line);
      if (check !== null) { assertions++; return `expect(${check[1] ?? ''}).toEqual(${check[2] ?? ''});`; }
      return line;
    }).join('\n');
    new Function('sdk', 'expect', body)(sdk, expect);
    expect(assertions).toBeGreaterThan(0);
  });
});
