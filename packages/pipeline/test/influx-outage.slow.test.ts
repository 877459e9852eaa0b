// The InfluxDB sink through outages of a real InfluxDB 1.x mid-stream: a writer streams 10,000
// points (writes of 250, four in flight) and, like the pipeline's delivery module, writes a
// batch again when it failed transiently. Meanwhile the server is stopped (SIGSTOP) for 3 s and
// continued, then killed (SIGKILL) and restarted. Afterwards every point is stored exactly once
// with its value, nothing was refused, and the outages did make writes fail.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startInflux, type Influx } from '@outpost/test-peers';
import { PipelineError } from '../src/errors.js';
import { createInfluxSink } from '../src/influx.js';
import type { TelemetryPoint } from '../src/types.js';

let server: Influx;
beforeAll(async () => {
  server = await startInflux();
});
afterAll(async () => {
  await server?.stop();
});

const T = Date.UTC(2026, 10, 27, 12);
const WRITES = 40;
const PER_WRITE = 250;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

it('SIGSTOP for 3 s, then SIGKILL and a restart, mid-stream: every point lands exactly once, none refused, ingest resumes by itself', async () => {
  const sink = createInfluxSink({ url: server.url, database: 'outage', maxAgeMs: 20, retries: 1, retryDelayMs: 100, timeoutMs: 500 });
  let done = 0;
  let transient = 0;
  const writeUntilDurable = async (w: number): Promise<void> => {
    const points: TelemetryPoint[] = Array.from({ length: PER_WRITE }, (_, i) => ({ device: `d${w % 4}`, time: T + w * PER_WRITE + i, metric: 'temp', value: w * PER_WRITE + i }));
    for (;;) {
      try {
        await sink.write(points);
        done++;
        return;
      } catch (err) {
        expect(err).toBeInstanceOf(PipelineError);
        expect((err as PipelineError).code).toBe('SINK_FAILED'); // never SINK_REJECTED: nothing is dead-lettered
        transient++;
        await sleep(200); // the delivery module's backoff
      }
    }
  };
  const outages = (async () => {
    while (done < 10) await sleep(10);
    await server.pause();
    await sleep(3_000);
    server.resume();
    while (done < 25) await sleep(10);
    await server.kill9();
    await sleep(2_000);
    await server.restart();
  })();
  const queue = Array.from({ length: WRITES }, (_, w) => w);
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let w = queue.shift(); w !== undefined; w = queue.shift()) await writeUntilDurable(w);
    }),
  );
  await outages;
  await sink.close();
  const series = await server.query('SELECT "value" FROM "temp" ORDER BY time', 'outage');
  const values = series.flatMap((s) => s.values.map((v) => v[1]));
  expect(values).toHaveLength(WRITES * PER_WRITE);
  expect(values).toEqual(Array.from({ length: WRITES * PER_WRITE }, (_, i) => i));
  expect(transient).toBeGreaterThan(0);
  expect(sink.stats()).toMatchObject({ rowsRejected: 0 });
}, 90_000);
