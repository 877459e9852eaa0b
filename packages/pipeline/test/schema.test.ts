// Issue #13 defect 4 at the sinks: the lake, DuckDB and PostgreSQL refuse exactly the same points
// with the same error (one validator, schema.ts), and accept the same good point. Before, the
// lake refused a negative time or an empty device while PostgreSQL committed them (down to year 1).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, tempDir, type Postgres } from '@outpost/test-peers';
import { createDuckDbStore } from '../src/duckdb.js';
import { createLake } from '../src/lake.js';
import { createPostgresSink } from '../src/postgres.js';
import type { TelemetryPoint, TelemetrySink } from '../src/types.js';

const good: TelemetryPoint = { device: 'pump-1', time: Date.UTC(2026, 10, 27), metric: 'temperature', value: 21.5, extra: { unit: 'Cel' } };
const BAD: [string, unknown][] = [
  ['a time before 1970', { ...good, time: -1 }],
  ['a time in year 1', { ...good, time: -62_135_596_800_000 }],
  ['a time after 2262-04-11', { ...good, time: 9_223_372_036_855 }],
  ['an empty device', { ...good, device: '' }],
  ['a device outside the identity charset', { ...good, device: 'pump 1' }],
  ['a metric outside the RFC 8428 name rule', { ...good, metric: '-temp' }],
  ['a NUL in extra', { ...good, extra: { s: 'a\0b' } }],
  ['NaN', { ...good, value: NaN }],
  ['a string value', { ...good, value: '1' }],
];

/** 'ok', or the error's class and message. */
async function outcome(sink: TelemetrySink, p: unknown): Promise<string> {
  try {
    await sink.write([p as TelemetryPoint]);
    return 'ok';
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

describe('one schema in every sink', () => {
  let server: Postgres;
  const dir = tempDir();
  const sinks: TelemetrySink[] = [];
  beforeAll(async () => {
    server = await startPostgres();
    const pg = createPostgresSink({ connectionString: server.url, table: 'schema_check', maxDelayMs: 0 });
    await pg.ensureSchema();
    sinks.push(await createLake({ dir: dir.path, maxAgeMs: 0, encoder: 'inline' }), await createDuckDbStore({ maxAgeMs: 0 }), pg);
  });
  afterAll(async () => {
    for (const s of sinks) await s.close().catch(() => undefined);
    await server?.stop();
    dir.cleanup();
  });

  it.each(BAD)('%s: the same error from the lake, DuckDB and PostgreSQL', async (_name, p) => {
    const got = await Promise.all(sinks.map((s) => outcome(s, p)));
    expect(got[0]).toMatch(/^(TypeError|RangeError): points\[0\]/);
    expect(got).toEqual([got[0], got[0], got[0]]);
  });

  it('a good point: accepted by all three', async () => {
    expect(await Promise.all(sinks.map((s) => outcome(s, good)))).toEqual(['ok', 'ok', 'ok']);
  });
});
