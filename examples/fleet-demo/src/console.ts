// `pnpm demo -- --console`: after the chapters, the fleet console over a small live fleet that
// keeps running until Ctrl-C:
// devices publishing every 500 ms (line-3 overheats now and then, line-6 falls silent), each
// applying desired state from its shadow and reporting it; a pipeline raising the alerts; the
// reference shadow service. The embedded broker's ACL lets no identity publish on alerts/…, so
// the demo hands the pipeline's alerts to the console in process (`console.live.alert`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startConsole, type Console } from '@outpost/console';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import { callbackAlertSink, connectIngest, openPipelineStack } from '@outpost/pipeline';
import { createShadowClient, startShadowService } from '@outpost/shadow';
import { PIPELINE_ID } from './chapters/cloud-pipeline.js';
import { SHADOW_SERVICE_ID } from './chapters/shadow-sync.js';
import type { DemoContext } from './context.js';

/** The console's identity on the embedded broker: reads devices/…, reads and writes shadows. */
export const CONSOLE_ID = 'fleet-console';
const LINES = ['line-1', 'line-2', 'line-3', 'line-4', 'line-5', 'line-6'];

/** Runs the live fleet and the console until `stop` resolves; `onUrl` gets the login URL and token. */
export async function runConsoleFleet(ctx: DemoContext, stop: Promise<void>, onUrl?: (login: string, token: string) => void): Promise<void> {
  const closers: Array<() => Promise<unknown>> = [];
  const dir = mkdtempSync(join(tmpdir(), 'outpost-demo-console-'));
  const connect = async (id: string): Promise<DeviceClient> => {
    const c = await ctx.device(id);
    const d = await connectDevice({ url: ctx.url, cert: c.cert, key: c.key, ca: ctx.ca.certificatePem, protocolVersion: ctx.protocolVersion });
    closers.push(() => d.close({ force: true }));
    return d;
  };
  let con: Console | undefined;
  try {
    const stack = await openPipelineStack({
      lakeDir: join(dir, 'lake'), duckdb: join(dir, 'timeseries.duckdb'), lake: { maxAgeMs: 1_000 },
      rules: [{ id: 'overheat', kind: 'threshold', metric: 'temperature', above: 80, clearAt: 75, severity: 'critical', message: '{device} temperature {value} °C' }],
      alertSinks: [callbackAlertSink((e) => con?.live.alert(e))],
    });
    closers.push(() => stack.close());
    const c = await ctx.device(CONSOLE_ID);
    // History from the pipeline's store: the same process, one DuckDB handle.
    con = await startConsole({
      brokerUrl: ctx.url, ca: ctx.ca.certificatePem, cert: c.cert, key: c.key, clientId: CONSOLE_ID,
      protocolVersion: ctx.protocolVersion, port: 0, live: { silentAfterMs: 5_000 }, topics: { alerts: [] },
      ...(stack.store !== undefined ? { store: stack.store } : {}),
    });
    const opened = con;
    closers.push(() => opened.close());
    const p = await ctx.device(PIPELINE_ID);
    const ingest = await connectIngest({ url: ctx.url, ca: ctx.ca.certificatePem, cert: p.cert, key: p.key, clientId: PIPELINE_ID, protocolVersion: ctx.protocolVersion, flow: stack.pipeline }, (m) => stack.pipeline.handle(m));
    closers.push(() => ingest.close());
    const service = await startShadowService({ mqtt: await connect(SHADOW_SERVICE_ID) });
    closers.push(() => service.close());
    const devices = await Promise.all(LINES.map(async (id) => {
      const mqtt = await connect(id);
      const shadow = await createShadowClient({ mqtt, thingName: id });
      shadow.onDelta(async (delta) => { await shadow.report(delta); });
      closers.push(() => shadow.close());
      return { id, mqtt };
    }));
    const login = new URL('/login', con.url).href;
    ctx.say(`Fleet console: ${login}  access token: ${con.token}`);
    onUrl?.(login, con.token);
    ctx.say(`  live fleet: ${LINES.length} devices every 500 ms; line-3 overheats every minute, line-6 falls silent after 20 s. Ctrl-C stops.`);
    let i = 0;
    const timer = setInterval(() => {
      i++;
      for (const [n, d] of devices.entries()) {
        if (d.id === 'line-6' && i > 40) continue;
        const hot = d.id === 'line-3' && i % 120 > 100 ? 25 : 0;
        const temperature = Math.round((60 + n * 2 + 3 * Math.sin(i / 10 + n) + hot) * 10) / 10;
        void d.mqtt.publish(`devices/${d.id}/telemetry`, JSON.stringify({ ts: Date.now(), temperature, humidity: 40 + n, rpm: 1_400 + 20 * n }), { qos: 1 }).catch(() => undefined);
      }
    }, 500);
    closers.push(async () => clearInterval(timer));
    await stop;
  } finally {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
