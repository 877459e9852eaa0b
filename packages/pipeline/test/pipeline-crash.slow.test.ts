// End to end under kill -9: a device publishes N QoS 1 messages through a real Mosquitto (the
// fleet's mTLS config, persistent sessions) to a pipeline consumer process (openPipelineStack +
// connectIngest, shared subscription, session expiry 1 h) that is SIGKILLed 3–5 times at seeded
// random moments mid-stream and restarted with the same client id each time. The broker
// redelivers whatever was not acknowledged; the consumer acknowledges only after the lake and
// the time-series store committed. Afterwards an independent reader (DuckDB through
// @duckdb/node-api, or a `pg` pool) finds every value in the time-series table exactly once and
// in the Parquet lake at least once (at-least-once: duplicates are counted and reported), and
// no partial or temp file where readers look. Runs once with the embedded DuckDB store and once
// with PostgreSQL. (kill -9 keeps the page cache: this checks the process-crash path.)
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { mulberry32, startPostgres, tempDir, type Postgres } from '@outpost/test-peers';
import { startFleet, type DeviceCreds, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';
import { publishPaced, sleep, start, until, type Child, type Counters } from './fixtures/consumer-process.js';
import { testPool } from './fixtures/test-pool.js';


const N = Number(process.env['PIPELINE_CRASH_MESSAGES'] ?? 3_000);
// Messages per second, published at a steady pace: slow enough that the 3–5 kills (each costing
// a restart of ~3 s: tsx, DuckDB, TLS) fall within the stream.
const RATE = 110;
const STEP_MS = 1_000; // event-time step between messages: the series spans two lake partitions

interface RunResult {
  kills: number;
  /** Kills that happened before the last message was published. */
  killsWhilePublishing: number;
  /** Messages each killed consumer had received but not yet acknowledged (from its last report, ≤ 50 ms old). */
  pendingAtKills: number[];
  /**
   * Redeliveries: messages that arrived with DUP set, summed over all consumer runs (killed ones:
   * their last report, so a little short). The broker counts as unacknowledged also what it had
   * written to the socket that the killed consumer never read, hence more than `pendingAtKills`.
   */
  redelivered: number;
  /** Messages handed to the pipeline, summed over all runs (killed ones: their last report, so short of the truth). */
  received: number;
  final: Counters;
  seconds: number;
}

/**
 * Publishes N messages at RATE while SIGKILLing the consumer at seeded random moments, then lets
 * the last consumer drain and stops it gracefully.
 */
async function crashRun(fleet: Fleet, app: DeviceCreds, deviceId: string, t0: number, dir: string, store: { duckdb: string } | { postgres: string }, seed: number): Promise<RunResult> {
  const began = Date.now();
  const rnd = mulberry32(seed);
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'consumer.json');
  writeFileSync(config, JSON.stringify({ url: fleet.url, ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, lakeDir: join(dir, 'lake'), ...store }));
  const children: Child[] = [];
  const dev = await fleet.device(deviceId);
  const publisher = await mqtt.connectAsync(fleet.url, { ca: fleet.ca.certificatePem, cert: dev.cert, key: dev.key, clientId: deviceId, protocolVersion: 5, reconnectPeriod: 0 });
  try {
    let child = start(config, children);
    await until(() => child.subscribed, 'the first consumer to subscribe', 30_000, child);

    // 3–5 kills, each a seeded random 0–1.5 s after the consumer (re)subscribed: some while it
    // takes in the backlog the broker queued during the restart, some in the steady stream.
    const kills = 3 + Math.floor(rnd() * 3);
    const killDelays = Array.from({ length: kills }, () => Math.floor(rnd() * 1_500));

    let published = 0;
    const publishing = publishPaced(publisher, { deviceId, n: N, rate: RATE, t0, stepMs: STEP_MS, onPublished: (c) => (published = c) });
    let publishFailed: unknown;
    publishing.catch((e: unknown) => (publishFailed = e));

    const pendingAtKills: number[] = [];
    let killsWhilePublishing = 0;
    let redelivered = 0;
    let received = 0;
    for (const delay of killDelays) {
      // The restarted consumer must be up first (killing it while it opens would test the
      // lake's clean-up rather than the stream).
      await until(() => child.subscribed, 'the consumer to subscribe', 30_000, child);
      await sleep(delay);
      if (publishFailed !== undefined) throw publishFailed;
      if (child.proc.exitCode !== null) throw new Error(`consumer exited (${child.proc.exitCode}):\n${child.err}`);
      if (published < N) killsWhilePublishing++;
      pendingAtKills.push(child.last?.pending ?? 0);
      redelivered += child.last?.redelivered ?? 0;
      received += child.last?.received ?? 0;
      child.proc.kill('SIGKILL');
      await child.exited;
      child = start(config, children);
    }
    await publishing;
    await until(() => child.subscribed, 'the last consumer to subscribe', 30_000, child);

    // Drain: nothing pending and nothing new arriving for a while (the broker sends queued
    // messages at once, so 1.5 s quiet with nothing outstanding means it has none left).
    let seen = -1;
    let quietSince = Date.now();
    await until(
      () => {
        const s = child.last;
        if (s === undefined) return false;
        if (s.received !== seen || s.pending > 0) {
          seen = s.received;
          quietSince = Date.now();
          return false;
        }
        return Date.now() - quietSince >= 1_500;
      },
      'the last consumer to drain',
      60_000,
      child,
    );
    child.proc.stdin?.write('close\n');
    const code = await child.exited;
    expect(code, child.err).toBe(0);
    const final = child.closed;
    if (final === undefined) throw new Error(`the last consumer closed without its final counters:\n${child.out.slice(-500)}\n${child.err}`);
    expect(final.pending).toBe(0);
    return {
      kills,
      killsWhilePublishing,
      pendingAtKills,
      redelivered: redelivered + final.redelivered,
      received: received + final.received,
      final,
      seconds: (Date.now() - began) / 1000,
    };
  } finally {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await publisher.endAsync().catch(() => undefined);
  }
}

/** Per value: how often it is there; plus values that are out of range or carry the wrong time. */
function tally(rows: readonly { value: number; t: number }[], t0: number): { counts: number[]; wrong: string[] } {
  const counts = new Array<number>(N).fill(0);
  const wrong: string[] = [];
  for (const { value, t } of rows) {
    if (!Number.isInteger(value) || value < 0 || value >= N) wrong.push(`value ${value}`);
    else if (t !== t0 + value * STEP_MS) wrong.push(`value ${value} at ${t}, expected ${t0 + value * STEP_MS}`);
    else counts[value] = (counts[value] ?? 0) + 1;
  }
  return { counts, wrong };
}

const missing = (counts: readonly number[]): number[] => counts.flatMap((c, v) => (c === 0 ? [v] : []));

/** Reads the lake back with DuckDB directly and checks it: whole files only, every value at least once. */
async function checkLake(lakeDir: string, deviceId: string, t0: number): Promise<{ rows: number; duplicates: number; files: number }> {
  const names = readdirSync(join(lakeDir, 'telemetry'), { recursive: true }) as string[];
  const files = names.filter((f) => f.endsWith('.parquet'));
  // No temp file is left (the last consumer's open removed those of the killed ones) and every
  // file where readers look is a part file of a Hive partition.
  expect(names.filter((f) => f.includes('.inflight_'))).toEqual([]);
  for (const f of files) expect(f).toMatch(/^date=\d{4}-\d\d-\d\d\/hour=\d\d\/part-\d+\.parquet$/);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    // read_parquet fails on a truncated or partial file, so this also proves every file is whole.
    const rows = (
      await conn.runAndReadAll(
        `SELECT value, epoch_ms(time)::DOUBLE AS t, CAST("date" AS VARCHAR) AS date, CAST(hour AS VARCHAR) AS hour
         FROM read_parquet('${lakeDir}/telemetry/**/*.parquet', hive_partitioning = true, hive_types_autocast = false)
         WHERE device = '${deviceId}' AND metric = 'v'`,
      )
    ).getRowObjectsJS() as { value: number; t: number; date: string; hour: string }[];
    for (const r of rows) {
      const iso = new Date(r.t).toISOString();
      expect(`${r.date}/${r.hour}`).toBe(`${iso.slice(0, 10)}/${iso.slice(11, 13)}`); // each row in its event-time partition
    }
    const { counts, wrong } = tally(rows, t0);
    expect(wrong).toEqual([]);
    expect(missing(counts), 'values missing from the lake').toEqual([]);
    return { rows: rows.length, duplicates: rows.length - N, files: files.length };
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

function report(variant: string, r: RunResult, table: number, lake: { rows: number; duplicates: number; files: number }): void {
  console.log(
    `pipeline crash (${variant}): ${N} messages; ${r.kills} kills (${r.killsWhilePublishing} while publishing) with [${r.pendingAtKills.join(', ')}] unacknowledged; ` +
      `${r.received} deliveries to the pipeline, ${r.redelivered} of them redeliveries (DUP); ` +
      `table ${table} rows; lake ${lake.rows} rows in ${lake.files} files (${lake.duplicates} duplicates); dead letters ${JSON.stringify(r.final.deadLettered)}; ${r.seconds.toFixed(1)} s`,
  );
}

describe('pipeline consumer under kill -9 (Mosquitto, mTLS, persistent session)', () => {
  let fleet: Fleet;
  let app: DeviceCreds;
  let postgres: Postgres;
  const tmp = tempDir('outpost-pipeline-crash-');
  // Event times: whole seconds from half past the hour two hours ago (inside the decoder's
  // default window), so the series crosses an hour boundary of the lake.
  const t0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 5_400_000;

  beforeAll(async () => {
    [fleet, postgres] = await Promise.all([startFleet({ persistence: true }), startPostgres()]);
    app = await fleet.device('app-observer'); // the fixture's application identity: may read devices/+/#
  });
  afterAll(async () => {
    await fleet?.stop();
    await postgres?.stop();
    tmp.cleanup();
  });

  it('DuckDB store: every value in the table exactly once and in the lake at least once', { timeout: 120_000 }, async () => {
    const dir = join(tmp.path, 'duckdb');
    const file = join(dir, 'timeseries.duckdb');
    const r = await crashRun(fleet, app, 'crash-duck', t0, dir, { duckdb: file }, 0x9c0ffee);
    expect(r.kills).toBeGreaterThanOrEqual(3);

    const db = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
    const conn = await db.connect();
    let rows: { value: number; t: number }[];
    try {
      rows = (
        await conn.runAndReadAll(`SELECT value, epoch_ms(time)::DOUBLE AS t FROM telemetry WHERE device = 'crash-duck' AND metric = 'v'`)
      ).getRowObjectsJS() as { value: number; t: number }[];
    } finally {
      conn.closeSync();
      db.closeSync();
    }
    const { counts, wrong } = tally(rows, t0);
    expect(wrong).toEqual([]);
    expect(missing(counts), 'values missing from the time-series table').toEqual([]);
    expect(counts.filter((c) => c > 1)).toEqual([]);
    expect(rows).toHaveLength(N);
    const lake = await checkLake(join(dir, 'lake'), 'crash-duck', t0);
    report('DuckDB', r, rows.length, lake);
    // The kills struck while messages were received but not acknowledged (else they proved nothing).
    expect(Math.max(...r.pendingAtKills), 'no kill struck while messages were unacknowledged').toBeGreaterThan(0);
  });

  it('PostgreSQL store: every value in the table exactly once and in the lake at least once', { timeout: 120_000 }, async () => {
    const dir = join(tmp.path, 'postgres');
    const r = await crashRun(fleet, app, 'crash-pg', t0, dir, { postgres: postgres.url }, 0x5eed9);
    expect(r.kills).toBeGreaterThanOrEqual(3);

    const pool = testPool({ connectionString: postgres.url, max: 1 });
    let rows: { value: number; t: number }[];
    try {
      rows = (
        await pool.query<{ value: number; t: number }>(
          `SELECT value, (extract(epoch from time) * 1000)::float8 AS t FROM telemetry WHERE device = 'crash-pg' AND metric = 'v'`,
        )
      ).rows;
    } finally {
      await pool.end();
    }
    const { counts, wrong } = tally(rows, t0);
    expect(wrong).toEqual([]);
    expect(missing(counts), 'values missing from the time-series table').toEqual([]);
    expect(counts.filter((c) => c > 1)).toEqual([]);
    expect(rows).toHaveLength(N);
    const lake = await checkLake(join(dir, 'lake'), 'crash-pg', t0);
    report('PostgreSQL', r, rows.length, lake);
    // The kills struck while messages were received but not acknowledged (else they proved nothing).
    expect(Math.max(...r.pendingAtKills), 'no kill struck while messages were unacknowledged').toBeGreaterThan(0);
  });
});
