// Real processes, real files, kill -9 at random moments: two writer processes share one lake
// directory and are killed together, many rounds. After every round, every `*.parquet` under
// the prefix is readable by DuckDB, every write a child reported as resolved is fully present,
// no two writers' files collided, and no temp file is ever matched by the readers' glob. (kill -9
// keeps the page cache: this checks the process-crash path, not power loss.)
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { mulberry32, tempDir } from '@outpost/test-peers';
import { createLake } from '../src/lake.js';

const fixture = join(import.meta.dirname, 'fixtures', 'lake-writer.ts');
const ROUNDS = Number(process.env['LAKE_KILL_ROUNDS'] ?? 16);

interface Child {
  proc: ChildProcess;
  out: string;
  err: string;
  exited: Promise<void>;
}

function start(dir: string, writer: string, seed: number): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', fixture, dir, writer, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const c: Child = { proc, out: '', err: '', exited: new Promise((r) => proc.once('exit', () => r())) };
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => (c.out += d));
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (c.err += d));
  return c;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('lake under kill -9', () => {
  const tmp = tempDir('outpost-lake-crash-');
  afterAll(() => tmp.cleanup());

  it(`${ROUNDS} rounds of two writers killed at random moments leave only whole files`, async () => {
    const dir = tmp.path;
    const rnd = mulberry32(0x1a4e);
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const committed = new Map<string, number>(); // `${writer}/w${id}` → points
    let killedBeforeFirstCommit = 0;
    let tempsSeen = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const children = [start(dir, `r${round}-a`, round * 2 + 1), start(dir, `r${round}-b`, round * 2 + 2)];
      // Kill early (opening, cleaning up, first batch) in some rounds, mid-stream in the others.
      const early = rnd() < 0.25;
      const deadline = Date.now() + 20_000;
      while (!children.every((c) => c.out.includes(early ? 'open\n' : 'ok '))) {
        for (const c of children) if (c.proc.exitCode !== null) throw new Error(`writer exited: ${c.err}`);
        if (Date.now() > deadline) throw new Error(`writers did not start: ${children.map((c) => c.err).join('\n')}`);
        await sleep(5);
      }
      await sleep(Math.floor(rnd() * (early ? 40 : 400)));
      for (const c of children) c.proc.kill('SIGKILL');
      await Promise.all(children.map((c) => c.exited));
      for (const c of children) {
        const lines = c.out.split('\n');
        if (!c.out.endsWith('\n')) lines.pop(); // a line cut by the kill proves nothing
        let oks = 0;
        for (const line of lines) {
          const m = /^ok (\S+) (\d+) (\d+)$/.exec(line);
          if (m === null) continue;
          committed.set(`${m[1]}/w${m[2]}`, Number(m[3]));
          oks++;
        }
        if (oks === 0) killedBeforeFirstCommit++;
      }

      // No temp file is matched by the readers' glob, whatever the kill left behind.
      const all = readdirSync(join(dir, 'telemetry'), { recursive: true }) as string[];
      tempsSeen += all.filter((f) => f.includes('.inflight_')).length;
      const globbed = (await conn.runAndReadAll(`SELECT file FROM glob('${dir}/telemetry/**/*.parquet')`)).getRowObjectsJS() as { file: string }[];
      for (const { file } of globbed) expect(file).toMatch(/\/date=\d{4}-\d\d-\d\d\/hour=\d\d\/part-\d+\.parquet$/);

      // Every file is a whole Parquet file, and every reported write is fully there.
      const rows = (
        await conn.runAndReadAll(
          `SELECT device || '/' || metric AS k, count(*) AS n, count(DISTINCT value) AS d FROM read_parquet('${dir}/telemetry/**/*.parquet', hive_partitioning = true) GROUP BY k`,
        )
      ).getRowObjectsJS() as { k: string; n: bigint; d: bigint }[];
      const found = new Map(rows.map((r) => [r.k, Number(r.n)]));
      for (const r of rows) expect(Number(r.d), r.k).toBe(Number(r.n)); // no row twice: no file overwritten or duplicated
      for (const [k, n] of committed) expect(found.get(k), k).toBe(n);
    }
    expect(committed.size).toBeGreaterThan(ROUNDS); // the children did commit in most rounds
    expect(killedBeforeFirstCommit).toBeLessThan(ROUNDS * 2);

    // Opening the lake removes the temp files the kills left behind.
    const lake = await createLake({ dir });
    await lake.close();
    const left = (readdirSync(join(dir, 'telemetry'), { recursive: true }) as string[]).filter((f) => f.includes('.inflight_'));
    expect(left).toEqual([]);
    conn.closeSync();
    db.closeSync();
    console.log(`lake crash: ${ROUNDS} rounds, ${committed.size} committed writes checked, ${tempsSeen} temp files seen after kills`);
  });
});
