// Real processes, real files, kill -9 at random moments (≥200 cycles). After each kill, everything
// the child reported as appended is present, in order, with its bytes. (kill -9 keeps the page
// cache, so this checks the process-crash path; power loss is covered by crash-point.test.ts.)
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBuffer } from '../src/index.js';
import { dec, tempDir } from './helpers/tmp.js';
import { rng } from './helpers/sim-fs.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures', 'appender.ts');
const CYCLES = Number(process.env['EDGE_BUFFER_KILL_CYCLES'] ?? 200);
const LANES = 2;

interface Cycle {
  lines: string[];
  killedDuring: 'recovery' | 'appending';
}

interface Booted {
  /** Starts the child's work; resolves after it was killed. */
  go(dir: string): Promise<Cycle>;
  kill(): void;
}

/** Spawns a child that loads tsx and the sources, then waits for "go" on stdin. */
function boot(durability: string, runId: string, inFlight: number, random: () => number): Promise<Booted> {
  return new Promise((resolveBoot, rejectBoot) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, durability, runId, String(inFlight)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env },
    });
    let out = '';
    let err = '';
    let killedDuring: Cycle['killedDuring'] = 'appending';
    let armed = false;
    let finish: ((c: Cycle) => void) | undefined;
    let fail: ((e: Error) => void) | undefined;
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (out.startsWith('booted\n') && finish === undefined) {
        resolveBoot({
          go: (dir: string) =>
            new Promise<Cycle>((res, rej) => {
              finish = res;
              fail = rej;
              child.stdin.write(`${dir}\n`);
            }),
          kill,
        });
      }
      if (armed || finish === undefined) return;
      if (out.includes('recovering\n') && random() < 0.1) {
        armed = true;
        killedDuring = 'recovery';
        setTimeout(kill, Math.floor(random() * 4));
      } else if (out.includes('ready\n')) {
        armed = true;
        setTimeout(kill, 50 + Math.floor(random() * 50));
      }
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const guard = setTimeout(kill, 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL' || finish === undefined) {
        const e = new Error(`child exited with ${code}/${signal}: ${err}`);
        rejectBoot(e);
        fail?.(e);
        return;
      }
      // Only complete lines: the last one may have been cut by the kill.
      finish({ lines: out.split('\n').slice(0, -1), killedDuring });
    });
  });
}

async function lane(id: number): Promise<{ reported: number; verified: number; cycles: number; recoveryKills: number }> {
  const { dir, cleanup } = await tempDir(`edge-buffer-kill-${id}-`);
  const random = rng(1234 + id);
  const expected = new Map<number, string>(); // reported and not yet consumed
  let reported = 0;
  const verified = new Set<number>(); // reported seqs read back at least once
  let recoveryKills = 0;
  const cycles = Math.ceil(CYCLES / LANES);
  let next: Promise<Booted> | undefined;
  try {
    const durabilityOf = (c: number): string => (c % 3 === 2 ? 'batch' : 'fsync');
    const spawnFor = (c: number): Promise<Booted> => boot(durabilityOf(c), `${id}.${c}`, durabilityOf(c) === 'batch' ? 8 : 1, random);
    next = spawnFor(0);
    for (let c = 0; c < cycles; c++) {
      const child = await next;
      const running = child.go(dir);
      // Boot the next child while this one runs and is verified.
      next = c + 1 < cycles ? spawnFor(c + 1) : Promise.resolve({ go: async () => ({ lines: [], killedDuring: 'appending' as const }), kill: () => undefined });
      next.catch(() => undefined);
      const cycle = await running;
      if (cycle.killedDuring === 'recovery') recoveryKills++;
      for (const line of cycle.lines) {
        const m = /^(\d+) (.*)$/.exec(line);
        if (m === null) continue;
        expected.set(Number(m[1]), m[2]!);
        reported++;
      }
      const buf = await openBuffer({ dir, maxBytes: 64 << 20, segmentBytes: 64 * 1024 });
      const acked = buf.stats().ackedSeq;
      let prev = acked;
      const seen: number[] = [];
      for (let r = await buf.tryRead(); r !== undefined; r = await buf.tryRead()) {
        // In order, no gap, no duplicate.
        expect(r.seq).toBe(prev + 1);
        prev = r.seq;
        const want = expected.get(r.seq);
        if (want !== undefined) {
          expect(dec(r.payload)).toBe(want);
          verified.add(r.seq);
        } else {
          // Appended durably but the child died before printing: must still be one of ours.
          expect(dec(r.payload)).toMatch(/^\d+\.\d+:\d+:x*$/);
        }
        seen.push(r.seq);
      }
      for (const seq of expected.keys()) expect(seq <= acked || seq <= prev).toBe(true);
      // Consume most of it so the directory stays small; keep a tail to carry over.
      const keep = Math.floor(random() * 20);
      const upto = seen.length > keep ? seen[seen.length - 1 - keep]! : acked;
      if (upto > acked) await buf.ack(upto);
      for (const seq of [...expected.keys()]) if (seq <= upto) expected.delete(seq);
      await buf.close();
    }
  } finally {
    // A child booted for a cycle that will not run (after a failure) is killed, not left waiting.
    await next?.then((c) => c.kill(), () => undefined);
    await cleanup();
  }
  return { reported, verified: verified.size, cycles, recoveryKills };
}

describe('kill -9', () => {
  it(`${CYCLES} SIGKILL cycles: every reported append survives, in order`, async () => {
    const results = await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i)));
    const total = results.reduce((a, r) => ({ reported: a.reported + r.reported, verified: a.verified + r.verified, cycles: a.cycles + r.cycles, recoveryKills: a.recoveryKills + r.recoveryKills }));
    expect(total.cycles).toBeGreaterThanOrEqual(CYCLES);
    // The children did real work (this would be 0 if the fixture failed to start).
    expect(total.reported).toBeGreaterThan(CYCLES * 10);
    expect(total.verified).toBe(total.reported);
    console.log(`kill -9: ${total.cycles} cycles, ${total.reported} reported appends verified, ${total.recoveryKills} kills during recovery`);
  });
});
