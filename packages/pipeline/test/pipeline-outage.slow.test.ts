// A store outage holds the stream instead of draining it into dead letters. A device publishes
// N QoS 1 messages at a steady pace through a real Mosquitto (the fleet's mTLS config,
// persistence) to a pipeline consumer process (openPipelineStack with the lake and PostgreSQL,
// or the lake and InfluxDB 1.x; connectIngest with `flow: pipeline`). Mid-stream the store is
// stopped for OUTAGE_MS (10 s here, not the 30 s: the CI budget) and then brought back:
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
import { startInflux, startPostgres, tempDir, type Influx, type Postgres } from '@outpost/test-peers';
import { startFleet, type DeviceCreds, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';
import { publishPaced, sleep, start, until, type Child } from './fixtures/consumer-process.js';
import { testPool } from './fixtures/test-pool.js';


const N = 1_200;
const RATE = 100; // messages per second: 12 s of publishing
const OUTAGE_AT_MS = 2_000; // after the consumer subscribed
const OUTAGE_MS = 10_000;
const STEP_MS = 1_000;

/** The store taken down mid-stream, as the test drives it. */
interface Store {
  readonly name: 'postgres' | 'influx';
  /** What the consumer's config gets: `{ postgres: url }` or `{ influx: url }`. */
  readonly config: Record<string, string>;
  freeze(): Promise<void>;
  thaw(): void;
  kill9(): Promise<void>;
  restart(): Promise<void>;
  /** Each stored value of metric `v` of `device`, with how many times it is stored. */
  countRows(device: string): Promise<{ value: number; n: number }[]>;
}

function postgresStore(postgres: Postgres): Store {
  return {
    name: 'postgres',
    config: { postgres: postgres.url },
    freeze: async () => postgres.freeze(),
    thaw: () => postgres.thaw(),
    kill9: async () => postgres.kill9(),
    restart: () => postgres.restart(),
    async countRows(device) {
      const pool = testPool({ connectionString: postgres.url, max: 1, connectionTimeoutMillis: 2_000 });
      try {
        return (await pool.query<{ value: number; n: number }>(`SELECT value, count(*)::int AS n FROM telemetry WHERE device = $1 AND metric = 'v' GROUP BY value`, [device])).rows;
      } finally {
        await pool.end();
      }
    },
  };
}

function influxStore(influx: Influx): Store {
  return {
    name: 'influx',
    config: { influx: influx.url },
    freeze: () => influx.pause(),
    thaw: () => influx.resume(),
    kill9: () => influx.kill9(),
    restart: () => influx.restart(),
    async countRows(device) {
      // One point per (series, time) by construction: count each value's points.
      const series = await influx.query(`SELECT "value" FROM "v" WHERE "device" = '${device}'`, 'outage');
      const counts = new Map<number, number>();
      for (const row of series[0]?.values ?? []) counts.set(row[1] as number, (counts.get(row[1] as number) ?? 0) + 1);
      return [...counts].map(([value, n]) => ({ value, n }));
    },
  };
}

interface Outcome {
  children: Child[];
  final: NonNullable<Child['closed']>;
  deadLetterFiles: string[];
}

async function outageRun(fleet: Fleet, app: DeviceCreds, store: Store, variant: 'SIGSTOP' | 'SIGKILL', dir: string, t0: number): Promise<Outcome> {
  const deviceId = `outage-${store.name}-${variant.toLowerCase()}`;
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'consumer.json');
  const lakeDir = join(dir, 'lake');
  writeFileSync(
    config,
    JSON.stringify({
      url: fleet.url, ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, lakeDir, ...store.config, clientId: `outage-consumer-${store.name}-${variant}`,
      delivery: { retryDelayMs: 200, maxRetryDelayMs: 1_000, stallAfterMs: 2_000 },
    }),
  );
  const children: Child[] = [];
  const dev = await fleet.device(deviceId);
  const publisher = await mqtt.connectAsync(fleet.url, { ca: fleet.ca.certificatePem, cert: dev.cert, key: dev.key, clientId: deviceId, protocolVersion: 5, reconnectPeriod: 0 });
  // A supervisor: a consumer that exits (it cannot open PostgreSQL while it is down) is started again.
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
    if (variant === 'SIGSTOP') await store.freeze();
    else await store.kill9();
    const began = Date.now();
    if (variant === 'SIGKILL') {
      // kill -9 the consumer in the middle of the outage, once it has paused for it.
      await until(() => child.last?.paused === true, 'the consumer to pause for the outage', OUTAGE_MS / 2);
      await sleep(1_000);
      child.proc.kill('SIGKILL');
    }
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - began)));
    if (variant === 'SIGSTOP') store.thaw();
    else await store.restart();
    await publishing;

    // Ingest resumes by itself: every value reaches the table without anyone's help.
    await until(() => child.subscribed, 'a consumer to be up again', 60_000);
    let rows: { value: number; n: number }[] = [];
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      rows = await store.countRows(deviceId).catch(() => []);
      if (rows.length === N && child.last?.pending === 0 && child.last.held === 0) break;
      await sleep(250);
    }
    expect(rows.length, `values in ${store.name} after the outage (consumer stderr: ${child.err.slice(-800)})`).toBe(N);
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

/** The two variants against one store. */
function outageSuite(title: string, open: () => Promise<{ store: Store; stop(): Promise<void> }>): void {
  describe(title, () => {
    let fleet: Fleet;
    let app: DeviceCreds;
    let store: Store;
    let stopStore: () => Promise<void> = async () => undefined;
    const tmp = tempDir('outpost-pipeline-outage-');
    const t0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 5_400_000;

    beforeAll(async () => {
      let opened: { store: Store; stop(): Promise<void> };
      [fleet, opened] = await Promise.all([startFleet({ persistence: true }), open()]);
      ({ store } = opened);
      stopStore = () => opened.stop();
      app = await fleet.device('app-observer');
    });
    afterAll(async () => {
      await fleet?.stop();
      await stopStore();
      tmp.cleanup();
    });

    it('SIGSTOP for 10 s: the stall is detected, intake pauses, resumes by itself; zero dead letters, every value once', { timeout: 150_000 }, async () => {
      const r = await outageRun(fleet, app, store, 'SIGSTOP', join(tmp.path, 'sigstop'), t0);
      const events = r.children.flatMap((c) => c.events);
      const errs = r.children.map((c) => c.err).join('');
      expect(r.deadLetterFiles).toEqual([]);
      expect(r.children.flatMap((c) => Object.keys(c.last?.deadLettered ?? {}))).toEqual([]);
      expect(r.final.deadLettered).toEqual({});
      expect(r.children.some((c) => c.sawPaused), 'intake paused during the outage').toBe(true);
      expect(events.some((e) => e.type === 'sink-down' && e.sink === store.name)).toBe(true);
      const up = events.find((e) => e.type === 'sink-up' && e.sink === store.name);
      expect(up?.outageMs).toBeGreaterThan(0);
      expect(errs).toMatch(new RegExp(`sink ${store.name} (stalled|is down)`));
      expect(errs).toMatch(new RegExp(`sink ${store.name} is back after an outage of \\d+\\.\\d s`));
      console.log(`${store.name} outage (SIGSTOP): ${N} messages; events ${JSON.stringify(events)}; final ${JSON.stringify(r.final)}`);
    });

    it('SIGKILL for 10 s with the consumer kill -9ed during the outage: zero dead letters, every value once, resumes by itself', { timeout: 150_000 }, async () => {
      const r = await outageRun(fleet, app, store, 'SIGKILL', join(tmp.path, 'sigkill'), t0);
      const events = r.children.flatMap((c) => c.events);
      const errs = r.children.map((c) => c.err).join('');
      expect(r.children.length).toBeGreaterThanOrEqual(2); // the killed consumer and its successor(s)
      expect(r.deadLetterFiles).toEqual([]);
      expect(r.children.flatMap((c) => Object.keys(c.last?.deadLettered ?? {}))).toEqual([]);
      expect(r.final.deadLettered).toEqual({});
      expect(r.children.some((c) => c.sawPaused), 'intake paused during the outage').toBe(true);
      // Down (write errors) or stalled (the sink's own retries outlast stallAfterMs): either holds the stream.
      expect(events.some((e) => e.type === 'sink-down' && e.sink === store.name)).toBe(true);
      expect(errs).toMatch(new RegExp(`sink ${store.name} (stalled|is down)`));
      console.log(`${store.name} outage (SIGKILL + consumer kill -9): ${N} messages; ${r.children.length} consumer runs; events ${JSON.stringify(events)}; final ${JSON.stringify(r.final)}`);
    });
  });
}

outageSuite('PostgreSQL outage mid-stream: backpressure, not dead letters', async () => {
  const postgres = await startPostgres();
  return { store: postgresStore(postgres), stop: () => postgres.stop() };
});

outageSuite('InfluxDB outage mid-stream: backpressure, not dead letters', async () => {
  const influx = await startInflux();
  return { store: influxStore(influx), stop: () => influx.stop() };
});
