// Scheduler cost per decision with 1,000 queued uplinks (EU868, 3 default channels).
// Run: npx tsx --conditions=@outpost/source packages/lorawan/bench/scheduler.ts
import { TransmitScheduler } from '@outpost/lorawan';
import { report, type BenchResult as Result } from '@outpost/test-peers';

function run(reorder: boolean): Result {
  const s = new TransmitScheduler({ reorder });
  let id = 0;
  const fill = (): void => {
    while (s.size < 1000) s.enqueue({ id: id++, payloadBytes: 13 + (id % 40), dataRate: id % 6 });
  };
  fill();
  let now = 0;
  let decisions = 0;
  let transmits = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 1500) {
    for (let k = 0; k < 1000; k++) {
      const d = s.next(now);
      decisions++;
      if (d.kind === 'transmit') {
        transmits++;
        fill();
      } else if (d.kind === 'wait') now = d.until;
    }
  }
  const ms = performance.now() - t0;
  console.log(`  (${reorder ? 'reorder' : 'FIFO'}: ${decisions} decisions, ${transmits} transmissions, ${(now / 3_600_000).toFixed(1)} simulated hours)`);
  return { name: `next() with 1,000 queued, ${reorder ? 'reorder: true (scans the queue)' : 'FIFO (head only)'}`, opsPerSec: (decisions / ms) * 1000, usPerOp: (ms * 1000) / decisions };
}

report('transmit scheduler', [run(false), run(true)]);
