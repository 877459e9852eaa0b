// A store outage holds the stream instead of draining it into dead letters. A device publishes
// N QoS 1 messages at a steady pace through a real Mosquitto (the fleet's mTLS config,
// persistence) to a pipeline consumer process (openPipelineStack with PostgreSQL + the lake,
// connectIngest with `flow: pipeline`). Mid-stream PostgreSQL is stopped for OUTAGE_MS (10 s
// here, not the 30 s: the CI budget) and then brought back:
//  - SIGSTOP variant: the server stops answering (connections stay open) — detected by the
//    stall watchdog; then SIGCONT.
//  - SIGKILL variant: the server dies — detected by the write errors; the consumer itself is
//    kill -9'd in the middle of the outage and restarted (by a supervisor loop, as systemd would:
//    a consumer cannot open its store while PostgreSQL is down); then PostgreSQL restarts.
// Afterwards: zero dead letters, every value exactly once in the PostgreSQL table, intake
// paused during the outage and resumed by itself, and the consumer reported the outage
// (events naming the sink, and the log line with its length).
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, tempDir, type Postgres } from '@outpost/test-peers';
import { startFleet, type DeviceCreds, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';
import { publishPaced, sleep, start, until, type Child } from './fixtures/consumer-process.js';

const { default: pg } = await import('pg');

const N = 1_200;
const RATE = 100; // messages per second: 12 s of publishing
const OUTAGE_AT_MS = 2_000; // after the consumer subscribed
const OUTAGE_MS = 10_000;
const STEP_MS = 1_000;

async function countRows(url: string, device: string): Promise<{ value: number; n: number }[]> {
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 2_000 });
  try {
    return (await pool.query<{ value: number; n: number }>(`SELECT value, count(*)::int AS n FROM telemetry WHERE device = $1 AND metric = 'v' GROUP BY value`, [device])).rows;
  } finally {
    await pool.end();
  }
}

interface Outcome {
  children: Child[];
  final: NonNullable<Child['closed']>;
  deadLetterFiles: string[];
}

async function outageRun(fleet: Fleet, app: DeviceCreds, postgres: Postgres, variant: 'SIGSTOP' | 'SIGKILL', dir: string, t0: number): Promise<Outcome> {
  const deviceId = `outage-${variant.toLowerCase()}`;
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'consumer.json');
  const lakeDir = join(dir, 'lake');
  writeFileSync(
    config,
    JSON.stringify({
      url: fleet.url, ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, lakeDir, postgres: postgres.url, clientId: `outage-consumer-${variant}`,
      delivery: { retryDelayMs: 200, maxRetryDelayMs: 1_000, stallAfterMs: 2_000 },
    }),
  );
  const children: Child[] = [];
  const dev = await fleet.device(deviceId);
  const publisher = await mqtt.connectAsync(fleet.url, { ca: fleet.ca.certificatePem, cert: dev.cert, key: dev.key, clientId: deviceId, protocolVersion: 5, reconnectPeriod: 0 });
  // A supervisor: a consumer that exits (it cannot open its store while PostgreSQL is down) is started again.
  let child = start(config, children);
  let supervising = true;
  const supervisor = (async () => {
    while (supervising) {
      await child.exited;
      if (!supervising) break;
      await sleep(500);
      if (supervising) child = start(config, children);
    }
  })();
  try {
    await until(() => child.subscribed, 'the consumer to subscribe', 30_000);
    const publishing = publishPaced(publisher, { deviceId, n: N, rate: RATE, t0, stepMs: STEP_MS });

    await sleep(OUTAGE_AT_MS);
    if (variant === 'SIGSTOP') postgres.freeze();
    else postgres.kill9();
    const began = Date.now();
    if (variant === 'SIGKILL') {
      // kill -9 the consumer in the middle of the outage, once it has paused for it.
      await until(() => child.last?.paused === true, 'the consumer to pause for the outage', OUTAGE_MS / 2);
      await sleep(1_000);
      child.proc.kill('SIGKILL');
    }
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - began)));
    if (variant === 'SIGSTOP') postgres.thaw();
    else await postgres.restart();
    await publishing;

    // Ingest resumes by itself: every value reaches the table without anyone's help.
    await until(() => child.subscribed, 'a consumer to be up again', 60_000);
    let rows: { value: number; n: number }[] = [];
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      rows = await countRows(postgres.url, deviceId).catch(() => []);
      if (rows.length === N && child.last?.pending === 0 && child.last.held === 0) break;
      await sleep(250);
    }
    expect(rows.length, `values in the table after the outage (consumer stderr: ${child.err.slice(-800)})`).toBe(N);
    expect(rows.filter((r) => r.n !== 1)).toEqual([]); // exactly once
    supervising = false;
    child.proc.stdin?.write('close\n');
    expect(await child.exited, child.err).toBe(0);
    const final = child.closed;
    if (final === undefined) throw new Error(`the last consumer closed without its final counters:\n${child.err}`);
    const dl = join(lakeDir, 'dead-letter');
    const deadLetterFiles = (() => {
      try {
        return (readdirSync(dl, { recursive: true }) as string[]).filter((f) => f.endsWith('.jsonl'));
      } catch {
        return [];
      }
    })();
    return { children, final, deadLetterFiles };
  } finally {
    supervising = false;
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await supervisor;
    await publisher.endAsync().catch(() => undefined);
  }
}

describe('PostgreSQL outage mid-stream: backpressure, not dead letters', () => {
  let fleet: Fleet;
  let app: DeviceCreds;
  let postgres: Postgres;
  const tmp = tempDir('outpost-pipeline-outage-');
  const t0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 5_400_000;

  beforeAll(async () => {
    [fleet, postgres] = await Promise.all([startFleet({ persistence: true }), startPostgres()]);
    app = await fleet.device('app-observer');
  });
  afterAll(async () => {
    await fleet?.stop();
    await postgres?.stop();
    tmp.cleanup();
  });

  it('SIGSTOP for 10 s: the stall is detected, intake pauses, resumes by itself; zero dead letters, every value once', { timeout: 150_000 }, async () => {
    const r = await outageRun(fleet, app, postgres, 'SIGSTOP', join(tmp.path, 'sigstop'), t0);
    const events = r.children.flatMap((c) => c.events);
    const errs = r.children.map((c) => c.err).join('');
    expect(r.deadLetterFiles).toEqual([]);
    expect(r.children.flatMap((c) => Object.keys(c.last?.deadLettered ?? {}))).toEqual([]);
    expect(r.final.deadLettered).toEqual({});
    expect(r.children.some((c) => c.sawPaused), 'intake paused during the outage').toBe(true);
    expect(events.some((e) => e.type === 'sink-down' && e.sink === 'postgres')).toBe(true);
    const up = events.find((e) => e.type === 'sink-up' && e.sink === 'postgres');
    expect(up?.outageMs).toBeGreaterThan(0);
    expect(errs).toMatch(/sink postgres (stalled|is down)/);
    expect(errs).toMatch(/sink postgres is back after an outage of \d+\.\d s/);
    console.log(`outage (SIGSTOP): ${N} messages; events ${JSON.stringify(events)}; final ${JSON.stringify(r.final)}`);
  });

  it('SIGKILL for 10 s with the consumer kill -9ed during the outage: zero dead letters, every value once, resumes by itself', { timeout: 150_000 }, async () => {
    const r = await outageRun(fleet, app, postgres, 'SIGKILL', join(tmp.path, 'sigkill'), t0);
    const events = r.children.flatMap((c) => c.events);
    const errs = r.children.map((c) => c.err).join('');
    expect(r.children.length).toBeGreaterThanOrEqual(2); // the killed consumer and its successor(s)
    expect(r.deadLetterFiles).toEqual([]);
    expect(r.children.flatMap((c) => Object.keys(c.last?.deadLettered ?? {}))).toEqual([]);
    expect(r.final.deadLettered).toEqual({});
    expect(r.children.some((c) => c.sawPaused), 'intake paused during the outage').toBe(true);
    // Down (write errors) or stalled (the sink's own retries outlast stallAfterMs): either holds the stream.
    expect(events.some((e) => e.type === 'sink-down' && e.sink === 'postgres')).toBe(true);
    expect(errs).toMatch(/sink postgres (stalled|is down)/);
    console.log(`outage (SIGKILL + consumer kill -9): ${N} messages; ${r.children.length} consumer runs; events ${JSON.stringify(events)}; final ${JSON.stringify(r.final)}`);
  });
});
