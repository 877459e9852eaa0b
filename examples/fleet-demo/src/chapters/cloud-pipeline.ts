// Chapter: the cloud side. The fleet's telemetry flows through both paths of @outpost/pipeline:
// rules raise alerts on arrival (hot path) while every point lands in a Parquet lake and a
// time-series store (cold path). pump-2 overheats and cools down again: one alert, one resolve.
// meter-2 falls silent: the heartbeat rule notices. A garbage message goes to the dead letters.
// With no external service the store is embedded DuckDB; `--pg URL` uses PostgreSQL instead, and
// `--influx URL` writes the time series to InfluxDB as well.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Encoder } from 'cbor-x';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import { callbackAlertSink, connectIngest, createDuckDbStore, createInfluxSink, createPostgresSink, openPipelineStack, type AlertEvent, type DuckDbStore, type PostgresSink, type Rule } from '@outpost/pipeline';
import type { Chapter } from '../context.js';

/** The InfluxDB database the chapter writes with `--influx`. */
export const INFLUX_DB = 'outpost_demo';

/** The identity the demo's pipeline consumes with (an application allowed to read devices/+/#). */
export const PIPELINE_ID = 'pipeline';

const DEVICES = ['pump-1', 'pump-2', 'meter-1', 'meter-2', 'gateway-1'];
const READINGS = 60;
const METER2_STOPS = 10;
const PERIOD_MS = 40;
const RULES: Rule[] = [
  { id: 'overheat', kind: 'threshold', metric: 'temperature', above: 80, clearAt: 75, severity: 'critical', message: '{device} temperature {value} °C' },
  // Silent for more than 4 × 400 ms. Every device goes quiet when the demo ends, but the pipeline
  // stops well within that time, so only meter-2 (quiet for the last 2 s of the stream) trips it.
  { id: 'silent', kind: 'heartbeat', intervalMs: 400, missed: 4, severity: 'warning', message: '{device} silent for {value} ms' },
];

/** pump-2 heats past 80 °C between readings 12 and 24, then cools to normal. */
function temperature(device: string, i: number): number {
  const base = 60 + DEVICES.indexOf(device) * 2 + Math.sin(i / 4);
  if (device !== 'pump-2') return Math.round(base * 10) / 10;
  const bump = i < 10 ? 0 : i < 18 ? (i - 10) * 4 : i < 24 ? 32 : Math.max(0, 32 - (i - 24) * 8);
  return Math.round((base + bump) * 10) / 10;
}

export const cloudPipeline: Chapter = {
  id: 'cloudPipeline',
  title: 'Cloud pipeline: alerts in milliseconds (hot path), a Parquet lake and a time-series store (cold path)',
  async run(ctx) {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-demo-pipeline-'));
    const lakeDir = join(dir, 'lake');
    const alerts: (AlertEvent & { latencyMs: number })[] = [];
    const sentAt = new Map<string, number>();
    const stack = await openPipelineStack({
      lakeDir,
      ...(ctx.pg !== undefined ? { postgres: { connectionString: ctx.pg, maxDelayMs: 300 } } : { duckdb: join(dir, 'timeseries.duckdb') }),
      lake: { maxAgeMs: 300 },
      ...(ctx.influx !== undefined ? { influx: { url: ctx.influx, database: INFLUX_DB, maxAgeMs: 300 } } : {}),
      rules: RULES,
      tickMs: 50,
      alertSinks: [
        callbackAlertSink((e) => {
          const sent = sentAt.get(`${e.device}/${e.value ?? ''}`);
          const latencyMs = e.kind === 'fired' && e.ruleId === 'overheat' && sent !== undefined ? performance.now() - sent : Number.NaN;
          alerts.push({ ...e, latencyMs });
          ctx.say(`  ALERT ${e.kind.padEnd(8)} ${e.ruleId.padEnd(8)} ${e.device}: ${e.message}${Number.isFinite(latencyMs) ? ` (${latencyMs.toFixed(1)} ms after the device published)` : ''}`);
        }),
      ],
    });
    const app = await ctx.device(PIPELINE_ID);
    const embedded = ctx.embedded !== undefined;
    const ingest = await connectIngest(
      {
        url: ctx.embedded?.backendUrl ?? ctx.url,
        ca: ctx.ca.certificatePem,
        cert: app.cert,
        key: app.key,
        clientId: PIPELINE_ID,
        protocolVersion: ctx.protocolVersion,
        // Shared subscriptions need MQTT 5; the embedded broker speaks 3.1.1, so one consumer there.
        ...(ctx.protocolVersion === 5 && !embedded ? { group: 'demo-pipeline' } : {}),
        flow: stack.pipeline, // a store outage pauses intake instead of dead-lettering
      },
      (m) => stack.pipeline.handle(m),
    );
    const clients: DeviceClient[] = [];
    let sent = 0;
    try {
      for (const id of DEVICES) {
        const creds = await ctx.device(id);
        clients.push(await connectDevice({ url: ctx.url, cert: creds.cert, key: creds.key, ca: ctx.ca.certificatePem, protocolVersion: ctx.protocolVersion }));
      }
      ctx.say(`  pipeline "${PIPELINE_ID}" consuming devices/+/telemetry → rules, lake (${lakeDir}) and ${stack.store?.name ?? 'no store'}; ${DEVICES.length} devices publishing every ${PERIOD_MS} ms`);
      const cbor = new Encoder({ useRecords: false } as ConstructorParameters<typeof Encoder>[0]);
      for (let i = 0; i < READINGS; i++) {
        const tick = Date.now();
        await Promise.all(clients.map(async (c) => {
          const id = c.clientId;
          if (id === 'meter-2' && i >= METER2_STOPS) return; // meter-2 falls silent
          const t = temperature(id, i);
          let payload: string | Uint8Array;
          if (id === 'meter-1') payload = JSON.stringify([{ n: 'temperature', v: t, u: 'Cel' }]); // SenML (RFC 8428)
          else if (id === 'gateway-1') payload = cbor.encode({ temperature: t, uplinks: i }); // CBOR, as edge-buffer sends it
          else payload = JSON.stringify({ temperature: t, seq: i });
          sentAt.set(`${id}/${t}`, performance.now());
          await c.publish(`devices/${id}/telemetry`, payload, { qos: 1 });
          sent++;
        }));
        if (i === 5) {
          await (clients[4] as DeviceClient).publish('devices/gateway-1/telemetry', '{"temperature": ', { qos: 1 }); // truncated: a dead letter
          sent++;
        }
        await new Promise((r) => setTimeout(r, Math.max(0, PERIOD_MS - (Date.now() - tick))));
      }
      const deadline = Date.now() + 10_000;
      while (stack.pipeline.stats().messages < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await ingest.close(); // returns once every message is acknowledged: durable in the lake and the store
    }
    await stack.close(); // flushes and stops the rules (every device is silent from here on)
    // Read back from what is on disk (or in PostgreSQL), with a fresh connection.
    const store = ctx.pg !== undefined ? createPostgresSink({ connectionString: ctx.pg }) : await createDuckDbStore({ path: join(dir, 'timeseries.duckdb') });
    try {
      await report(store);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }

    async function report(store: PostgresSink | DuckDbStore): Promise<void> {
      const s = stack.stats();
      const fired = alerts.filter((a) => a.kind === 'fired');
      const resolved = alerts.filter((a) => a.kind === 'resolved');
      let lakeRowsRead = s.lake.rows;
      const last = await store.lastValues({ metric: 'temperature' });
      const series = await store.downsample({ device: 'pump-2', metric: 'temperature', from: 0, to: Date.now() + 1000, bucketMs: 500 });
      const hottest = Math.max(...series.map((b) => b.max ?? -Infinity));
      const tsRows = await countRows(store, Number((s.store as { rowsWritten?: number } | undefined)?.rowsWritten ?? 0));
      ctx.say(`  time series (${store.name}): ${tsRows} rows; last temperature per device: ${last.map((l) => `${l.device} ${l.value ?? '-'}`).join(', ')}`);
      ctx.say(`  pump-2 downsampled to 500 ms buckets: max ${series.map((b) => b.max).join(' → ')} °C`);
      if ('lakeSummary' in store) {
        const parts = await store.lakeSummary(lakeDir);
        lakeRowsRead = parts.reduce((a, p) => a + p.rows, 0);
        ctx.say(`  lake read back by DuckDB: ${lakeRowsRead} rows in ${parts.reduce((a, p) => a + p.files, 0)} Parquet file(s) under ${parts.map((p) => `date=${p.date}/hour=${p.hour}`).join(', ')}`);
      }
      const dead = Object.values(s.pipeline.deadLettered).reduce((a, b) => a + (b ?? 0), 0);
      const overheat = fired.find((a) => a.ruleId === 'overheat');
      const influx = ctx.influx !== undefined ? await readInflux(ctx.influx) : undefined;
      if (influx !== undefined) ctx.say(`  InfluxDB (${INFLUX_DB}): ${s.influx?.rows ?? 0} points written; last temperature per device: ${influx.map((l) => `${l.device} ${l.value ?? '-'}`).join(', ')}`);
      ctx.say(`  ${s.pipeline.messages} messages, ${s.pipeline.points} points; ${fired.length} alert(s) fired, ${resolved.length} resolved; ${dead} dead letter(s); lake ${s.lake.rows} rows in ${s.lake.files} file(s)`);
      ctx.summary['cloudPipeline'] = {
        store: stack.store?.name ?? null,
        messages: s.pipeline.messages,
        points: s.pipeline.points,
        lakeRows: lakeRowsRead,
        lakeFiles: s.lake.files,
        timeSeriesRows: tsRows,
        ...(influx !== undefined ? { influxPoints: (s.influx?.rows ?? 0) - (s.influx?.rowsRejected ?? 0), influxLast: influx } : {}),
        deadLetters: dead,
        alerts: alerts.map((a) => ({ kind: a.kind, rule: a.ruleId, device: a.device })),
        overheatLatencyMs: overheat !== undefined && Number.isFinite(overheat.latencyMs) ? Math.round(overheat.latencyMs * 10) / 10 : null,
        pump2MaxTemperature: hottest,
      };
    }
  },
};

/** Rows in the time-series table: counted by DuckDB, or the PostgreSQL sink's inserted-row count. */
async function countRows(store: PostgresSink | DuckDbStore, written: number): Promise<number> {
  if ('query' in store) {
    const r = await store.query('SELECT count(*) AS n FROM telemetry');
    return Number(r[0]?.['n'] ?? 0);
  }
  return written;
}

/** The last temperature per device, read back from InfluxDB with a fresh sink. */
async function readInflux(url: string): Promise<{ device: string; value: number | null }[]> {
  const sink = createInfluxSink({ url, database: INFLUX_DB, createDatabase: false });
  try {
    return (await sink.lastValues({ metric: 'temperature' })).map((l) => ({ device: l.device, value: l.value }));
  } finally {
    await sink.close();
  }
}
