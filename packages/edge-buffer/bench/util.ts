import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A scratch directory under os.tmpdir() (or BENCH_DIR), removed by the returned function. */
export function scratch(name: string): { dir: string; done: () => void } {
  const base = process.env['BENCH_DIR'] ?? tmpdir();
  const dir = mkdtempSync(join(base, `edge-buffer-bench-${name}-`));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

export function payload(size: number, i: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let j = 0; j < size; j += 8) p[j] = (i + j) & 0xff;
  return p;
}

export function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const ms = (n: number): string => `${n.toFixed(3)} ms`;

/** Appends `n` copies of `p` from `appenders` concurrent appenders, each with up to `inFlight` appends outstanding. */
export async function fillConcurrently(buf: { append(p: Uint8Array): Promise<number> }, n: number, p: Uint8Array, appenders: number, inFlight: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: appenders }, async () => {
      const window: Promise<number>[] = [];
      while (next < n) {
        next++;
        window.push(buf.append(p));
        if (window.length >= inFlight) await window.shift();
      }
      await Promise.all(window);
    }),
  );
}
