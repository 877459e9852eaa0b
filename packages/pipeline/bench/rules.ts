// RuleEngine.evaluate() calls per second: 20 rules (thresholds with hysteresis, rates,
// heartbeats, combinations) over 1,000 devices and 5 metrics, points in event-time order.
//   npx tsx --conditions=@outpost/source packages/pipeline/bench/rules.ts
import { bench, mulberry32, report } from '@outpost/test-peers';
import { RuleEngine } from '../src/rules.js';
import type { Rule } from '../src/rules-types.js';
import type { TelemetryPoint } from '../src/types.js';

const DEVICES = 1000;
const METRICS = ['temperature', 'humidity', 'pressure', 'vibration', 'battery'] as const;
const rules: Rule[] = [
  { id: 'temp-high', kind: 'threshold', metric: 'temperature', above: 80, clearAt: 75 },
  { id: 'temp-critical', kind: 'threshold', metric: 'temperature', above: 95, forCount: 3, severity: 'critical' },
  { id: 'temp-low', kind: 'threshold', metric: 'temperature', below: -10, clearAt: -5 },
  { id: 'temp-rise', kind: 'rate', metric: 'temperature', maxRisePerSecond: 5 },
  { id: 'hum-band', kind: 'threshold', metric: 'humidity', below: 10, above: 90 },
  { id: 'hum-rate', kind: 'rate', metric: 'humidity', maxRisePerSecond: 10, maxFallPerSecond: 10 },
  { id: 'press-high', kind: 'threshold', metric: 'pressure', above: 1080, clearAt: 1060, devices: 'pump-*' },
  { id: 'press-low', kind: 'threshold', metric: 'pressure', below: 950 },
  { id: 'press-drop', kind: 'rate', metric: 'pressure', maxFallPerSecond: 20, forCount: 2 },
  { id: 'vib-warn', kind: 'threshold', metric: 'vibration', above: 4.5, clearAt: 3.5, forCount: 2 },
  { id: 'vib-alarm', kind: 'threshold', metric: 'vibration', above: 7.1, severity: 'critical' },
  { id: 'vib-jump', kind: 'rate', metric: 'vibration', maxRisePerSecond: 3 },
  { id: 'batt-low', kind: 'threshold', metric: 'battery', below: 3300, clearAt: 3500 },
  { id: 'batt-critical', kind: 'threshold', metric: 'battery', below: 3100, severity: 'critical' },
  { id: 'silent', kind: 'heartbeat', intervalMs: 60_000, missed: 3 },
  { id: 'silent-pumps', kind: 'heartbeat', intervalMs: 10_000, missed: 2, devices: 'pump-*' },
  { id: 'overheat-and-shaking', kind: 'all', of: ['temp-high', 'vib-warn'], severity: 'critical' },
  { id: 'any-critical', kind: 'any', of: ['temp-critical', 'vib-alarm', 'batt-critical'] },
  { id: 'pump-trouble', kind: 'all', of: ['press-drop', { kind: 'threshold', metric: 'vibration', above: 6 }], devices: 'pump-*' },
  { id: 'env-bad', kind: 'any', of: ['hum-band', 'temp-low'] },
];
if (rules.length !== 20) throw new Error('expected 20 rules');

const devices = Array.from({ length: DEVICES }, (_, i) => (i % 4 === 0 ? `pump-${i}` : `sensor-${i}`));
const base = { temperature: 40, humidity: 50, pressure: 1010, vibration: 2, battery: 3700 };
const spread = { temperature: 30, humidity: 30, pressure: 50, vibration: 2.5, battery: 300 };

/** Value tables: `quiet` stays in range, `noisy` crosses limits now and then. */
function table(seed: number, excursion: number): Float64Array[] {
  const rnd = mulberry32(seed);
  return METRICS.map((m) => Float64Array.from({ length: 4096 }, () => base[m] + (rnd() - 0.5) * spread[m] * (rnd() < excursion ? 4 : 1)));
}

function run(name: string, values: Float64Array[]): ReturnType<typeof bench> & { events: number; calls: number } {
  const engine = new RuleEngine(rules, { now: () => 0, forgetAfterMs: Infinity });
  let i = 0;
  let events = 0;
  const t0 = Date.UTC(2026, 0, 1);
  const r = bench(name, () => {
    const d = i % DEVICES;
    const round = Math.floor(i / DEVICES);
    const m = round % METRICS.length;
    const point: TelemetryPoint = { device: devices[d] as string, time: t0 + round * 1000, metric: METRICS[m] as string, value: (values[m] as Float64Array)[(i * 7) & 4095] as number };
    i++;
    events += engine.evaluate(point).length;
    return events;
  });
  return { ...r, events, calls: i };
}

const quiet = run('evaluate(), levels in range', table(1, 0));
const noisy = run('evaluate(), ~2 % excursions', table(2, 0.02));
report(`RuleEngine.evaluate: ${rules.length} rules, ${DEVICES} devices, ${METRICS.length} metrics`, [quiet, noisy]);
for (const r of [quiet, noisy]) console.log(`  ${r.name}: ${r.events.toLocaleString('en-US')} events over ${r.calls.toLocaleString('en-US')} calls`);

const engine = new RuleEngine(rules, { now: () => 0, forgetAfterMs: Infinity });
for (let d = 0; d < DEVICES; d++) engine.evaluate({ device: devices[d] as string, time: 0, metric: 'temperature', value: 20 });
report('RuleEngine.tick over 1,000 devices (2 heartbeat rules)', [bench('tick()', () => engine.tick(1).length)]);
