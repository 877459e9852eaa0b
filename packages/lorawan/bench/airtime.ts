// timeOnAir calls per second. Run: npx tsx --conditions=@outpost/source packages/lorawan/bench/airtime.ts
import { EU868, airtimeForDataRate, timeOnAir } from '@outpost/lorawan';
import { bench, report } from '@outpost/test-peers';

let i = 0;
report('time on air', [
  bench('timeOnAir (validated object API)', () => timeOnAir({ spreadingFactor: 7 + (i++ % 6), bandwidthHz: 125_000, codingRate: '4/5', payloadBytes: 51 })),
  bench('airtimeForDataRate(EU868, dr, 64)', () => airtimeForDataRate(EU868, i++ % 6, 64)),
]);
