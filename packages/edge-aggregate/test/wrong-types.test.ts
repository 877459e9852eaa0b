// Wrong-type matrix: every public function, each argument replaced by values of the wrong type,
// must throw a TypeError or RangeError (never crash differently, never accept it).
import { describe, expect, it } from 'vitest';
import { FeatureAccumulator, interleavedFeatures, timeFeatures } from '../src/index.js';

const WRONG: readonly [string, unknown][] = [
  ['null', null], ['string', 'x'], ['number', 1.5], ['boolean', true], ['array', [1]], ['object', {}], ['bigint', 1n], ['symbol', Symbol('s')],
  ['Uint8Array', new Uint8Array(4)],
];

interface Case {
  readonly name: string;
  readonly args: readonly unknown[];
  readonly call: (...a: unknown[]) => unknown;
  /** Wrong values that are legitimately accepted for an argument. */
  readonly accepts?: Readonly<Record<number, readonly string[]>>;
}

const f32 = new Float32Array([1, 2, 3, 4, 5, 6]);
const CASES: readonly Case[] = [
  { name: 'timeFeatures', args: [f32, { stride: 2 }], call: (a, b) => timeFeatures(a as Float32Array, b as object), accepts: { 1: ['object'] } },
  { name: 'timeFeatures options.offset', args: [1], call: (a) => timeFeatures(f32, { offset: a as number }), accepts: { 0: ['number'] } },
  { name: 'timeFeatures options.count', args: [2], call: (a) => timeFeatures(f32, { count: a as number }) },
  { name: 'interleavedFeatures', args: [f32, 3], call: (a, b) => interleavedFeatures(a as Float32Array, b as number) },
  { name: 'FeatureAccumulator#push', args: [f32, {}], call: (a, b) => new FeatureAccumulator().push(a as Float32Array, b as object), accepts: { 1: ['object'] } },
  { name: 'FeatureAccumulator#merge', args: [new FeatureAccumulator().state()], call: (a) => new FeatureAccumulator().merge(a as never) },
  { name: 'FeatureAccumulator.fromState', args: [new FeatureAccumulator().state()], call: (a) => FeatureAccumulator.fromState(a as never) },
];

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : v instanceof Uint8Array ? 'Uint8Array' : typeof v);

describe('wrong-type matrix', () => {
  for (const c of CASES) {
    it(`${c.name}: the valid call works`, () => {
      expect(() => c.call(...c.args)).not.toThrow();
    });
    c.args.forEach((valid, i) => {
      for (const [label, bad] of WRONG) {
        if (label === kind(valid) || c.accepts?.[i]?.includes(label)) continue;
        it(`${c.name}: argument ${i} as ${label} → TypeError or RangeError`, () => {
          const args = [...c.args];
          args[i] = bad;
          let thrown: unknown;
          try {
            c.call(...args);
          } catch (err) {
            thrown = err;
          }
          expect(thrown instanceof TypeError || thrown instanceof RangeError, `${String(thrown)}`).toBe(true);
        });
      }
    });
  }
});
