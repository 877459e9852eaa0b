// DDSketch inserts per second and relative error, against @datadog/sketches-js (bench-only dependency).
//   npx tsx --conditions=@outpost/source packages/edge-aggregate/bench/ddsketch.ts
import { DDSketch as DatadogSketch } from '@datadog/sketches-js';
import { bench, report } from '@outpost/test-peers';
import { DDSketch } from '@outpost/edge-aggregate';

const N = 100_000;
const values = new Float64Array(N);
let seed = 1;
for (let i = 0; i < N; i++) {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  values[i] = Math.exp(4 * (seed / 2147483648) - 2); // log-uniform over e^-2 … e^2
}

report(`DDSketch, ${N} inserts per op (α = 1 %)`, [
  bench('DDSketch.add (@outpost/edge-aggregate)', () => {
    const s = new DDSketch({ relativeAccuracy: 0.01 });
    for (let i = 0; i < N; i++) s.add(values[i] as number);
    return s.count;
  }),
  bench('DDSketch.addAll (@outpost/edge-aggregate)', () => new DDSketch({ relativeAccuracy: 0.01 }).addAll(values)),
  bench('@datadog/sketches-js accept', () => {
    const s = new DatadogSketch({ relativeAccuracy: 0.01 });
    for (let i = 0; i < N; i++) s.accept(values[i] as number);
    return s;
  }),
]);

const ours = new DDSketch({ relativeAccuracy: 0.01 });
ours.addAll(values);
const theirs = new DatadogSketch({ relativeAccuracy: 0.01 });
for (const v of values) theirs.accept(v);
const sorted = Float64Array.from(values).sort();
let worstOurs = 0;
let worstTheirs = 0;
for (const q of [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999]) {
  const exact = sorted[Math.floor(q * (N - 1))] as number;
  worstOurs = Math.max(worstOurs, Math.abs(ours.quantile(q) / exact - 1));
  worstTheirs = Math.max(worstTheirs, Math.abs(theirs.getValueAtQuantile(q) / exact - 1));
}
console.log(`  worst relative error over 8 quantiles: ours ${(worstOurs * 100).toFixed(3)} %, @datadog/sketches-js ${(worstTheirs * 100).toFixed(3)} %`);
