// The lake's Parquet encoders: the worker-thread one writes the same bytes as the inline one,
// keeps batches apart when several are in flight, and survives its worker dying mid-encode.
import { describe, expect, it } from 'vitest';
import { inlineEncoder, workerEncoder } from '../src/parquet-encoder.js';
import type { TelemetryPoint } from '../src/types.js';

function batch(n: number, seed: number): { points: TelemetryPoint[]; extras: (string | null)[] } {
  const points: TelemetryPoint[] = [];
  const extras: (string | null)[] = [];
  for (let i = 0; i < n; i++) {
    points.push({ device: `dev-${(i * seed) % 37}`, time: Date.UTC(2026, 10, 27) + i * 1000 + seed, metric: i % 3 === 0 ? 'temperature' : 'rpm', value: i % 11 === 0 ? null : i * 0.5 + seed });
    extras.push(i % 5 === 0 ? JSON.stringify({ unit: 'C', n: i }) : null);
  }
  return { points, extras };
}

describe('Parquet encoders', () => {
  it('the worker encoder writes byte for byte what the inline encoder writes', async () => {
    const worker = workerEncoder();
    try {
      for (const [n, seed] of [[1, 1], [1000, 2], [20_000, 3]] as const) {
        const b = batch(n, seed);
        const [a, w] = await Promise.all([inlineEncoder().encode(b.points, b.extras), worker.encode(b.points, b.extras)]);
        expect(w.byteLength).toBeGreaterThan(100);
        expect(Buffer.from(w).equals(Buffer.from(a))).toBe(true);
      }
    } finally {
      await worker.close();
    }
  });

  it('several batches in flight come back to their own callers', async () => {
    const worker = workerEncoder();
    try {
      const batches = [batch(500, 4), batch(10, 5), batch(3000, 6), batch(1, 7)];
      const results = await Promise.all(batches.map((b) => worker.encode(b.points, b.extras)));
      const expected = await Promise.all(batches.map((b) => inlineEncoder().encode(b.points, b.extras)));
      results.forEach((r, i) => expect(Buffer.from(r).equals(Buffer.from(expected[i] as Uint8Array))).toBe(true));
    } finally {
      await worker.close();
    }
  });

  it('an encode in flight when the worker dies rejects; the next one starts a new worker', async () => {
    const worker = workerEncoder();
    const b = batch(50_000, 8);
    const inFlight = worker.encode(b.points, b.extras);
    await worker.close(); // terminates the worker under the encode
    await expect(inFlight).rejects.toThrow(/parquet worker/);
    const again = await worker.encode(b.points.slice(0, 10), b.extras.slice(0, 10));
    expect(again.byteLength).toBeGreaterThan(100);
    await worker.close();
  });
});
