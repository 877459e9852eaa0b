// Tiny micro-benchmark harness for the packages' bench/ scripts: warm-up, then the median of several timed rounds.
export interface Result {
  readonly name: string;
  readonly opsPerSec: number;
  readonly usPerOp: number;
}

export function bench(name: string, fn: () => unknown, { rounds = 7, minMs = 300 } = {}): Result {
  let sink: unknown;
  // calibrate iterations so one round takes ~minMs
  let n = 100;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sink = fn();
    const dt = performance.now() - t0;
    if (dt >= minMs / 4) {
      n = Math.max(1, Math.round((n * minMs) / dt));
      break;
    }
    n *= 4;
  }
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sink = fn();
    samples.push((performance.now() - t0) / n);
  }
  if (sink === Symbol.for('never')) console.log(sink);
  samples.sort((a, b) => a - b);
  const ms = samples[Math.floor(samples.length / 2)] as number;
  return { name, opsPerSec: 1000 / ms, usPerOp: ms * 1000 };
}

export function report(title: string, results: readonly Result[]): void {
  console.log(`\n${title} (node ${process.version}, ${process.arch})`);
  const w = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    console.log(`  ${r.name.padEnd(w)}  ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(12)} ops/s  ${r.usPerOp.toFixed(2).padStart(9)} µs/op`);
  }
}
