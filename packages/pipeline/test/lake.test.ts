// The Parquet lake against real files, read back by an independent reader (DuckDB).
import * as fsp from 'node:fs/promises';
import { existsSync, readdirSync, statSync, writeFileSync, mkdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { mulberry32, tempDir } from '@outpost/test-peers';
import { createLake, type LakeClock } from '../src/lake.js';
import { localLakeStore, type LakeFs, type LakeStore } from '../src/lake-store.js';
import { PipelineError } from '../src/errors.js';
import type { TelemetryPoint } from '../src/types.js';

const dirs: { cleanup(): void }[] = [];
function tmp(): string {
  const d = tempDir('outpost-lake-');
  dirs.push(d);
  return d.path;
}
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

/** Every file under `dir`, relative paths. */
function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => statSync(join(dir, f)).isFile()).sort();
}

async function duck<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJS() as T[];
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

const lakeGlob = (dir: string, prefix = 'telemetry'): string => `read_parquet('${dir}/${prefix}/**/*.parquet', hive_partitioning = true, hive_types_autocast = false)`;

function partitionOf(t: number): string {
  const iso = new Date(t).toISOString();
  return `${iso.slice(0, 10)}/${iso.slice(11, 13)}`;
}

/** A fake clock: timers run only when the test fires them. */
function fakeClock(): LakeClock & { pending(): number; fire(): void } {
  const timers = new Map<number, () => void>();
  let id = 0;
  return {
    setTimeout(fn) {
      timers.set(++id, fn);
      return id;
    },
    clearTimeout(h) {
      timers.delete(h as number);
    },
    pending: () => timers.size,
    fire() {
      const fns = [...timers.values()];
      timers.clear();
      for (const f of fns) f();
    },
  };
}

describe('round trip through DuckDB', () => {
  it('rows, partitions and values come back as sent (nulls, extra JSON, unicode in extra)', async () => {
    const dir = tmp();
    const rnd = mulberry32(9);
    const devices = ['pump-1', 'Gera.t-a', 'sensor_7', 'x.9', 'Q-d']; // the one schema's id charset
    const metrics = ['temp_c', 'state', 'battery_mv'];
    const t0 = Date.UTC(2026, 1, 28, 21, 17, 3, 250); // crosses midnight and a month end
    const sent: TelemetryPoint[] = [];
    for (let i = 0; i < 4_000; i++) {
      const time = t0 + Math.floor(rnd() * 30 * 3_600_000);
      const metric = metrics[i % 3] as string;
      const withNull = rnd() < 0.1;
      sent.push({
        device: devices[i % devices.length] as string,
        time,
        metric: `${metric}-${i}`, // unique key, so the comparison is row by row
        value: withNull ? null : Math.round(rnd() * 1e6) / 1e3 - 500,
        ...(rnd() < 0.3 ? { extra: { unit: 'Cel', note: 'ünïcødé “q”', n: i, nested: { ok: i % 2 === 0 } } } : {}),
      });
    }
    const lake = await createLake({ dir, maxRows: 1_500, maxAgeMs: 50 });
    // Several writes in flight at once, as the pipeline does.
    await Promise.all([0, 1, 2, 3].map((k) => lake.write(sent.slice(k * 1_000, (k + 1) * 1_000))));
    await lake.close();

    const expected = new Map<string, number>();
    for (const p of sent) expected.set(partitionOf(p.time), (expected.get(partitionOf(p.time)) ?? 0) + 1);
    expect(expected.size).toBeGreaterThan(24);

    const counts = await duck<{ date: string; hour: string; n: bigint }>(`SELECT date, hour, count(*) AS n FROM ${lakeGlob(dir)} GROUP BY ALL`);
    expect(new Map(counts.map((r) => [`${r.date}/${r.hour}`, Number(r.n)]))).toEqual(expected);

    const back = await duck<{ device: string; ms: bigint; metric: string; value: number | null; extra: string | null }>(
      `SELECT device, epoch_ms(time) AS ms, metric, value, extra FROM ${lakeGlob(dir)} ORDER BY metric`,
    );
    const byMetric = new Map(sent.map((p) => [p.metric, p]));
    expect(back).toHaveLength(sent.length);
    for (const r of back) {
      const p = byMetric.get(r.metric);
      expect(p).toBeDefined();
      expect({ device: r.device, time: Number(r.ms), value: r.value, extra: r.extra === null ? undefined : JSON.parse(r.extra) }).toEqual({
        device: p?.device,
        time: p?.time,
        value: p?.value,
        extra: p?.extra,
      });
    }
    // Every file sits in the partition of its rows' event time.
    const misplaced = await duck(`SELECT * FROM ${lakeGlob(dir)} WHERE strftime(time, '%Y-%m-%d') <> date OR strftime(time, '%H') <> hour`);
    expect(misplaced).toEqual([]);
    const s = lake.stats();
    expect(s.rows).toBe(sent.length);
    expect(s.files).toBe(files(join(dir, 'telemetry')).length);
    expect(s.bytes).toBe(files(join(dir, 'telemetry')).reduce((a, f) => a + statSync(join(dir, 'telemetry', f)).size, 0));
    expect(s.pendingRows).toBe(0);
    expect(files(dir).every((f) => /^telemetry\/date=\d{4}-\d\d-\d\d\/hour=\d\d\/part-\d+\.parquet$/.test(f))).toBe(true);
  });

  it('writes snappy-compressed columns with the documented types', async () => {
    const dir = tmp();
    const lake = await createLake({ dir, prefix: 'raw/telemetry' });
    await lake.write([{ device: 'd', time: 1_700_000_000_123, metric: 'm', value: 1.25, extra: { a: 1 } }]);
    await lake.close();
    const [file] = files(join(dir, 'raw', 'telemetry'));
    const path = join(dir, 'raw', 'telemetry', file as string);
    const meta = await duck<{ path_in_schema: string; compression: string }>(`SELECT path_in_schema, compression FROM parquet_metadata('${path}')`);
    expect(new Set(meta.map((m) => m.compression))).toEqual(new Set(['SNAPPY']));
    const types = await duck<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet('${path}', hive_partitioning = false)`);
    expect(types.map((t) => [t.column_name, t.column_type])).toEqual([
      ['device', 'VARCHAR'],
      ['time', 'TIMESTAMP'],
      ['metric', 'VARCHAR'],
      ['value', 'DOUBLE'],
      ['extra', 'VARCHAR'],
    ]);
    const [row] = await duck<{ ms: bigint }>(`SELECT epoch_ms(time) AS ms FROM read_parquet('${path}')`);
    expect(Number(row?.ms)).toBe(1_700_000_000_123);
  });
});

describe('roll-over', () => {
  const point = (i: number, hour = 0): TelemetryPoint => ({ device: `d${i % 4}`, time: Date.UTC(2026, 0, 1, hour) + i, metric: 'm', value: i });

  it('by rows: no file holds more than maxRows, and a big write spans batches', async () => {
    const dir = tmp();
    const lake = await createLake({ dir, maxRows: 100, maxAgeMs: 0 });
    await lake.write(Array.from({ length: 350 }, (_, i) => point(i)));
    expect(lake.stats().files).toBe(4);
    const perFile = await duck<{ n: bigint }>(`SELECT count(*) AS n FROM ${lakeGlob(dir)} GROUP BY filename ORDER BY n DESC`.replace('hive_types_autocast = false', 'hive_types_autocast = false, filename = true'));
    expect(perFile.map((r) => Number(r.n))).toEqual([100, 100, 100, 50]);
    await lake.close();
  });

  it('by estimated bytes', async () => {
    const dir = tmp();
    const clock = fakeClock();
    const lake = await createLake({ dir, maxBytes: 10_000, clock });
    const big = (i: number): TelemetryPoint => ({ ...point(i), extra: { blob: 'x'.repeat(1_000) } });
    const w1 = lake.write([big(1), big(2), big(3), big(4)]); // ~8 KB estimated: stays buffered
    await new Promise((r) => setImmediate(r));
    expect(lake.stats().files).toBe(0);
    const w2 = lake.write([big(5)]); // crosses 10 KB: commits without the timer
    await Promise.all([w1, w2]);
    expect(lake.stats()).toMatchObject({ files: 1, rows: 5, batches: 1 });
    await lake.close();
  });

  it('by age: the timer commits, and until it fires nothing is visible', async () => {
    const dir = tmp();
    const clock = fakeClock();
    const lake = await createLake({ dir, clock, maxAgeMs: 5_000 });
    let done = false;
    const w = lake.write([point(1), point(2, 5)]).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    expect(files(dir).filter((f) => f.endsWith('.parquet'))).toEqual([]);
    expect(clock.pending()).toBe(1);
    clock.fire();
    await w;
    expect(lake.stats().files).toBe(2); // two hours touched → two partitions
    expect(files(dir).filter((f) => f.endsWith('.parquet'))).toHaveLength(2);
    await lake.close();
  });

  it('flush() commits what is buffered; close() too, and later writes reject with CLOSED', async () => {
    const dir = tmp();
    const clock = fakeClock();
    const lake = await createLake({ dir, clock });
    const w = lake.write([point(1)]);
    await lake.flush();
    await w;
    expect(lake.stats().files).toBe(1);
    const w2 = lake.write([point(2)]);
    await lake.close();
    await w2;
    expect(lake.stats().files).toBe(2);
    await expect(lake.write([point(3)])).rejects.toMatchObject({ name: 'PipelineError', code: 'CLOSED' });
    await lake.flush(); // nothing buffered: resolves
  });
});

describe('atomic, no-replace commits', () => {
  it('part numbers continue after a restart and never replace an existing file', async () => {
    const dir = tmp();
    const p: TelemetryPoint = { device: 'd', time: Date.UTC(2026, 0, 1), metric: 'm', value: 1 };
    for (let round = 0; round < 3; round++) {
      const lake = await createLake({ dir, maxAgeMs: 0 });
      await lake.write([{ ...p, value: round }]);
      await lake.close();
    }
    expect(files(join(dir, 'telemetry'))).toEqual(['date=2026-01-01/hour=00/part-0.parquet', 'date=2026-01-01/hour=00/part-1.parquet', 'date=2026-01-01/hour=00/part-2.parquet']);
    const values = await duck<{ value: number }>(`SELECT value FROM ${lakeGlob(dir)} ORDER BY value`);
    expect(values.map((v) => v.value)).toEqual([0, 1, 2]);
  });

  it('two writers on the same directory never overwrite each other', async () => {
    const dir = tmp();
    const a = await createLake({ dir, maxRows: 7, maxAgeMs: 1 });
    const b = await createLake({ dir, maxRows: 5, maxAgeMs: 1 });
    const t = Date.UTC(2026, 5, 1, 12);
    const mk = (w: string, i: number): TelemetryPoint => ({ device: w, time: t + i, metric: 'm', value: i });
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) writes.push(a.write([mk('a', i)]), b.write([mk('b', i)]));
    await Promise.all(writes);
    await Promise.all([a.close(), b.close()]);
    const counts = await duck<{ device: string; n: bigint; d: bigint }>(`SELECT device, count(*) AS n, count(DISTINCT value) AS d FROM ${lakeGlob(dir)} GROUP BY device ORDER BY device`);
    expect(counts.map((c) => [c.device, Number(c.n), Number(c.d)])).toEqual([
      ['a', 300, 300],
      ['b', 300, 300],
    ]);
    expect(a.stats().files + b.stats().files).toBe(files(dir).length);
  });

  it('a put that finds its name taken (EEXIST) moves on to the next number', async () => {
    const dir = tmp();
    const base = localLakeStore(dir);
    let raced = 0;
    const store: LakeStore = {
      ...base,
      async put(key, bytes) {
        if (raced < 3) {
          raced++;
          await base.put(key, new Uint8Array([0x50, 0x41, 0x52, 0x31])); // another writer got there first
        }
        return base.put(key, bytes);
      },
    };
    const lake = await createLake({ store, maxAgeMs: 0 });
    await lake.write([{ device: 'd', time: 0, metric: 'm', value: 1 }]);
    await lake.close();
    expect(files(join(dir, 'telemetry', 'date=1970-01-01', 'hour=00'))).toEqual(['part-0.parquet', 'part-1.parquet', 'part-2.parquet', 'part-3.parquet']);
    expect(statSync(join(dir, 'telemetry', 'date=1970-01-01', 'hour=00', 'part-0.parquet')).size).toBe(4); // untouched
  });

  it('open removes temp files of dead writers, keeps those of live ones, never touches parts', async () => {
    const dir = tmp();
    const part = join(dir, 'telemetry', 'date=2026-01-01', 'hour=00');
    mkdirSync(part, { recursive: true });
    const host = encodeURIComponent((await import('node:os')).hostname());
    const dead = join(part, `.inflight_${host}_999999999_abc.tmp`); // no such pid
    const live = join(part, `.inflight_${host}_${process.ppid}_def.tmp`);
    const otherHostOld = join(part, `.inflight_elsewhere_1_aaa.tmp`);
    const otherHostNew = join(part, `.inflight_elsewhere_1_bbb.tmp`);
    for (const f of [dead, live, otherHostOld, otherHostNew]) writeFileSync(f, 'half');
    utimesSync(otherHostOld, new Date(Date.now() - 7_200_000), new Date(Date.now() - 7_200_000));
    writeFileSync(join(part, 'part-0.parquet'), 'not ours to judge');
    const lake = await createLake({ dir });
    await lake.close();
    expect(files(part)).toEqual(['.inflight_' + host + `_${process.ppid}_def.tmp`, '.inflight_elsewhere_1_bbb.tmp', 'part-0.parquet'].sort());
  });
});

/** An fs layer whose `sync` (or another call) fails while `failing()` says so. */
function faultyFs(failing: (op: string, path: string) => NodeJS.ErrnoException | undefined): LakeFs {
  const wrapHandle = (h: fsp.FileHandle, path: string): fsp.FileHandle =>
    new Proxy(h, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop === 'sync' || prop === 'write') {
          return async (...args: unknown[]) => {
            const e = failing(prop, path);
            if (e !== undefined) throw e;
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  return {
    ...fsp,
    open: (async (path: string, flags?: string, mode?: number) => {
      const e = failing('open', path);
      if (e !== undefined) throw e;
      return wrapHandle(await fsp.open(path, flags, mode), path);
    }) as LakeFs['open'],
    link: (async (a: string, b: string) => {
      const e = failing('link', b);
      if (e !== undefined) throw e;
      return fsp.link(a, b);
    }) as LakeFs['link'],
  };
}

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: simulated`), { code });

describe('commit failures', () => {
  const pts = (n: number, hours = 1): TelemetryPoint[] =>
    Array.from({ length: n }, (_, i) => ({ device: 'd', time: Date.UTC(2026, 0, 1, i % hours) + i, metric: 'm', value: i }));

  for (const [op, when] of [
    ['write', 'writing the temp file'],
    ['sync', 'fsyncing (ENOSPC)'],
    ['link', 'linking into place'],
  ] as const) {
    it(`fails while ${when}: every waiting write rejects with LAKE_IO, nothing visible, next batch OK`, async () => {
      const dir = tmp();
      let broken = true;
      const fs = faultyFs((o, path) => (broken && o === op && path.includes('.inflight_') === (op !== 'link') ? errno('ENOSPC') : undefined));
      const clock = fakeClock();
      const lake = await createLake({ store: localLakeStore(dir, { fs }), clock, retries: 1, retryDelayMs: 1 });
      const waits = [lake.write(pts(10, 3)), lake.write(pts(5, 3))];
      const all = Promise.allSettled([...waits, lake.flush()]);
      let over = false;
      void all.then(() => (over = true));
      while (!over) {
        await new Promise((r) => setTimeout(r, 2));
        clock.fire(); // the retry's backoff timer
      }
      const settled = await all;
      for (const s of settled) {
        expect(s.status).toBe('rejected');
        const reason = (s as PromiseRejectedResult).reason as PipelineError;
        expect(reason).toBeInstanceOf(PipelineError);
        expect(reason.code).toBe('LAKE_IO');
        expect(reason.message).toMatch(/ENOSPC/);
      }
      expect(files(dir)).toEqual([]); // no part, no temp file
      expect(lake.stats()).toMatchObject({ batchesFailed: 1, files: 0, rows: 0, pendingRows: 0 });
      broken = false;
      const ok = lake.write(pts(4, 2));
      await lake.flush();
      await ok;
      expect(lake.stats()).toMatchObject({ files: 2, rows: 4, batches: 1 });
      const [n] = await duck<{ n: bigint }>(`SELECT count(*) AS n FROM ${lakeGlob(dir)}`);
      expect(Number(n?.n)).toBe(4);
      await lake.close();
    });
  }

  it('a batch spanning partitions that fails halfway takes back the files it did put', async () => {
    const dir = tmp();
    const base = localLakeStore(dir);
    let puts = 0;
    const store: LakeStore = {
      ...base,
      async put(key, bytes) {
        if (++puts === 3) throw errno('EIO');
        return base.put(key, bytes);
      },
    };
    const lake = await createLake({ store, retries: 0, maxAgeMs: 0 });
    await expect(lake.write(pts(30, 5))).rejects.toMatchObject({ code: 'LAKE_IO' });
    expect(files(dir).filter((f) => f.endsWith('.parquet'))).toEqual([]);
    await lake.write(pts(30, 5));
    expect(lake.stats()).toMatchObject({ files: 5, batchesFailed: 1 });
    await lake.close();
  });

  it('transient failures are retried and the write then resolves', async () => {
    const dir = tmp();
    let failures = 2;
    const fs = faultyFs((o, path) => (o === 'sync' && path.includes('.inflight_') && failures-- > 0 ? errno('EIO') : undefined));
    const lake = await createLake({ store: localLakeStore(dir, { fs }), retries: 2, retryDelayMs: 1, maxAgeMs: 0 });
    await lake.write(pts(3));
    expect(lake.stats()).toMatchObject({ files: 1, batchesFailed: 0 });
    await lake.close();
  });

  it('a read-only lake directory rejects with LAKE_IO (when not running as root)', async () => {
    if (process.getuid?.() === 0) {
      // root ignores permissions: the same path is covered by the injected EACCES below.
      const dir = tmp();
      const fs = faultyFs((o) => (o === 'open' ? errno('EACCES') : undefined));
      const lake = await createLake({ store: localLakeStore(dir, { fs }), retries: 0, maxAgeMs: 0 });
      await expect(lake.write(pts(1))).rejects.toMatchObject({ code: 'LAKE_IO', message: expect.stringMatching(/EACCES/) as unknown });
      return;
    }
    const dir = tmp();
    await fsp.chmod(dir, 0o555);
    const lake = await createLake({ dir, retries: 0, maxAgeMs: 0 });
    await expect(lake.write(pts(1))).rejects.toMatchObject({ code: 'LAKE_IO' });
    await fsp.chmod(dir, 0o755);
  });
});

describe('wrong types and bad values', () => {
  const good: TelemetryPoint = { device: 'd', time: 0, metric: 'm', value: 1 };

  it('options', async () => {
    const dir = tmp();
    const cases: [unknown, ErrorConstructor, RegExp][] = [
      [undefined, TypeError, /options: expected an object/],
      [null, TypeError, /options/],
      ['dir', TypeError, /options/],
      [{}, TypeError, /dir: expected a directory path string/],
      [{ dir: 5 }, TypeError, /dir/],
      [{ dir: '' }, RangeError, /dir/],
      [{ dir, maxRows: '5' }, TypeError, /maxRows: expected an integer, got string/],
      [{ dir, maxRows: 0 }, RangeError, /maxRows: expected an integer in \[1, /],
      [{ dir, maxRows: 1.5 }, RangeError, /maxRows/],
      [{ dir, maxBytes: -1 }, RangeError, /maxBytes/],
      [{ dir, maxAgeMs: NaN }, RangeError, /maxAgeMs/],
      [{ dir, encoder: 'gpu' as never }, RangeError, /encoder: expected 'worker' or 'inline', got 'gpu'/],
      [{ dir, encoder: 1 as never }, TypeError, /encoder: expected 'worker' or 'inline', got number/],
      [{ dir, retries: 1000 }, RangeError, /retries/],
      [{ dir, prefix: 3 }, TypeError, /prefix/],
      [{ dir, prefix: '../up' }, RangeError, /prefix/],
      [{ dir, prefix: 'a//b' }, RangeError, /prefix/],
      [{ dir, prefix: '/abs' }, RangeError, /prefix/],
      [{ store: {} }, TypeError, /store.put: expected a function/],
      [{ store: 'x' }, TypeError, /store/],
      [{ dir, clock: {} }, TypeError, /clock/],
    ];
    for (const [opts, ctor, msg] of cases) {
      const err = await createLake(opts as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(opts)).toBeInstanceOf(ctor);
      expect((err as Error).message).toMatch(msg);
    }
    expect(() => localLakeStore(7 as never)).toThrow(TypeError);
    expect(() => localLakeStore('')).toThrow(RangeError);
    expect(() => localLakeStore(dir, { staleTempMs: -1 })).toThrow(RangeError);
  });

  it('points: the whole write is refused and nothing of it is buffered', async () => {
    const dir = tmp();
    const lake = await createLake({ dir, maxAgeMs: 0 });
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    const cases: [unknown, ErrorConstructor, RegExp][] = [
      [null, TypeError, /points: expected an array/],
      [good, TypeError, /points: expected an array/],
      [[good, null], TypeError, /points\[1\]: expected a telemetry point object, got null/],
      [[{ ...good, device: 1 }], TypeError, /points\[0\].device: expected a string, got number/],
      [[{ ...good, device: '' }], RangeError, /points\[0\].device/],
      [[{ ...good, time: '0' }], TypeError, /points\[0\].time: expected an integer/],
      [[{ ...good, time: 1.5 }], RangeError, /points\[0\].time/],
      [[{ ...good, time: -1 }], RangeError, /points\[0\].time/],
      [[{ ...good, time: 1e16 }], RangeError, /points\[0\].time/],
      [[{ ...good, metric: null }], TypeError, /points\[0\].metric/],
      [[{ ...good, value: '1' }], TypeError, /points\[0\].value: expected a number or null, got string/],
      [[{ ...good, value: undefined }], TypeError, /points\[0\].value/],
      [[{ ...good, value: Infinity }], RangeError, /points\[0\].value/],
      [[{ ...good, value: NaN }], RangeError, /points\[0\].value/],
      [[{ ...good, extra: [] }], TypeError, /points\[0\].extra/],
      [[{ ...good, extra: new Date() }], TypeError, /points\[0\].extra/],
      [[{ ...good, extra: cycle }], TypeError, /points\[0\].extra: expected a JSON-serialisable/],
      [[{ ...good, extra: { n: 1n } }], TypeError, /points\[0\].extra/],
    ];
    for (const [points, ctor, msg] of cases) {
      const err = await lake.write(points as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ctor);
      expect((err as Error).message).toMatch(msg);
    }
    expect(lake.stats()).toMatchObject({ pendingRows: 0, rows: 0, files: 0 });
    await lake.write([good]);
    expect(lake.stats().rows).toBe(1);
    await lake.close();
  });

  it('seeded fuzz: wrong shapes give TypeError/RangeError, never a crash or a half file', async () => {
    const dir = tmp();
    const rnd = mulberry32(0xfa11);
    const junk = (): unknown => {
      const pick = [
        () => undefined,
        () => null,
        () => Math.floor(rnd() * 2e6) - 1e6,
        () => rnd() * 10,
        () => NaN,
        () => -Infinity,
        () => 'str-' + Math.floor(rnd() * 100),
        () => '',
        () => [],
        () => ({}),
        () => true,
        () => 10n,
        () => Symbol('s'),
        () => new Uint8Array(2),
        () => () => 1,
      ];
      return (pick[Math.floor(rnd() * pick.length)] as () => unknown)();
    };
    const okPoint = (): Record<string, unknown> => ({ device: 'd', time: Date.UTC(2026, 0, 1) + Math.floor(rnd() * 1e6), metric: 'm', value: 1 });
    let accepted = 0;
    const lake = await createLake({ dir, maxRows: 17, maxAgeMs: 0 });
    for (let i = 0; i < 600; i++) {
      const p = okPoint();
      const field = ['device', 'time', 'metric', 'value', 'extra'][Math.floor(rnd() * 5)] as string;
      p[field] = junk();
      const batch = rnd() < 0.5 ? [okPoint(), p] : [p];
      try {
        await lake.write(batch as never);
        accepted += batch.length;
      } catch (e) {
        expect(e instanceof TypeError || e instanceof RangeError, String(e)).toBe(true);
      }
      const opts: Record<string, unknown> = { dir };
      opts[['maxRows', 'maxBytes', 'maxAgeMs', 'prefix', 'retries', 'retryDelayMs', 'store', 'clock'][Math.floor(rnd() * 8)] as string] = junk();
      await createLake(opts as never).then(
        (l) => l.close(),
        (e: unknown) => expect(e instanceof TypeError || e instanceof RangeError, String(e)).toBe(true),
      );
    }
    await lake.close();
    expect(accepted).toBeGreaterThan(0);
    expect(lake.stats().rows).toBe(accepted);
    expect(files(dir).filter((f) => !f.endsWith('.parquet'))).toEqual([]);
    const [n] = await duck<{ n: bigint }>(`SELECT count(*) AS n FROM ${lakeGlob(dir)}`);
    expect(Number(n?.n)).toBe(accepted);
  });
});
