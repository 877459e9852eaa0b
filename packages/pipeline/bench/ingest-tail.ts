// Where the end-to-end run's tail goes: part (c) of ingest.ts alone (same broker, sinks and
// parameters), with a timeline relative to the first message received: the backlog (received by
// the consumer − handed to the pipeline − acknowledged) every 100 ms, each sink's writes and
// commits as they start and end, the last arrival, the last handle and the last acknowledgement.
// PROFILE=file.cpuprofile writes a CPU profile of this process from connecting the consumer to
// the last acknowledgement (the (c) window only, not the set-up); HEAP_PROFILE=file.heapprofile
// a sampling allocation profile of the same window (what the garbage collector has to deal with).
//   npx tsx --conditions=@outpost/source packages/pipeline/bench/ingest-tail.ts [MESSAGES_PER_DEVICE]
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { startPostgres, tempDir } from '@outpost/test-peers';
import { connectIngest, openPipelineStack, type TelemetrySink } from '@outpost/pipeline';
import { startFleet } from '../../device-sdk/test/fixtures/fleet.js';
import { abOptions, benchDevices } from './ingest-data.js';

const DEVICES = 20;
const PER_DEVICE = Number(process.argv[2] ?? 2500);
const MESSAGES = DEVICES * PER_DEVICE;
const RULES = [{ id: 'overheat', kind: 'threshold' as const, metric: 'temperature', above: 75, clearAt: 70 }];
const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

const pgServer = await startPostgres();
const fleet = await startFleet();
const tmp = tempDir('outpost-bench-tail-');
try {
  const app = await fleet.device('app-observer');
  const devices = await benchDevices(fleet, DEVICES);
  const t0 = Date.now() - PER_DEVICE * 1000 - 60_000;
  const stack = await openPipelineStack({ lakeDir: join(tmp.path, 'e2e'), postgres: { connectionString: pgServer.url, table: 'e2e', batchRows: 5_000, maxDelayMs: 1_000 }, rules: RULES, ...abOptions() });
  let first = 0;
  const at = (): string => ((performance.now() - first) / 1000).toFixed(3);
  const events: string[] = [];
  const log = (s: string): void => void events.push(`${at()} ${s}`);
  // The sinks are objects the pipeline calls through: wrapping their methods shows every call.
  for (const sink of [stack.lake, stack.store] as TelemetrySink[]) {
    const write = sink.write.bind(sink);
    const flush = sink.flush.bind(sink);
    let writes = 0;
    let open = 0;
    sink.write = (points) => {
      const n = ++writes;
      open++;
      if (n % 50 === 0) log(`${sink.name} write #${n} (${points.length} points) starts; ${open} open`);
      return write(points).finally(() => {
        open--;
        if (n % 50 === 0 || open === 0) log(`${sink.name} write #${n} settled; ${open} open`);
      });
    };
    sink.flush = () => {
      log(`${sink.name} flush starts`);
      return flush().finally(() => log(`${sink.name} flush settled`));
    };
  }
  let handled = 0;
  let lastHandle = 0;
  const profile = process.env.PROFILE;
  const session = new Session();
  if (profile !== undefined) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const heap = process.env.HEAP_PROFILE;
  if (heap !== undefined) {
    if (profile === undefined) session.connect();
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  const cpu = process.cpuUsage();
  const ingest = await connectIngest(
    { url: fleet.url, ca: fleet.ca.certificatePem, cert: app.cert, key: app.key, clientId: 'bench-ingest', group: 'bench', flow: stack.pipeline },
    (m) => {
      if (first === 0) first = performance.now();
      handled++;
      lastHandle = performance.now();
      return stack.pipeline.handle(m);
    },
  );
  const sampler = setInterval(() => {
    if (first === 0) return;
    const s = ingest.stats();
    const l = stack.stats();
    log(`received ${s.received} handled ${handled} acked ${s.acked} lake pending ${l.lake.pendingRows} store pending ${String(l.store?.pendingRows)}`);
  }, 100);
  const child = fork(join(import.meta.dirname, 'ingest-publisher.ts'), { stdio: 'inherit' });
  const published = new Promise<void>((resolve) => child.on('message', (m: { done?: boolean }) => { if (m.done === true) resolve(); }));
  child.send({ url: fleet.url, ca: fleet.ca.certificatePem, devices, messagesPerDevice: PER_DEVICE, t0 });
  await published;
  log('publisher done');
  while (ingest.stats().received < MESSAGES) await new Promise((r) => setTimeout(r, 5));
  log(`all received (last handle at ${((lastHandle - first) / 1000).toFixed(3)})`);
  await stack.pipeline.flush();
  log('pipeline.flush settled');
  while (ingest.stats().acked < MESSAGES) await new Promise((r) => setTimeout(r, 5));
  log(`all acknowledged; CPU ${((1000 * cpuMs(process.cpuUsage(cpu))) / MESSAGES).toFixed(1)} µs/message; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  clearInterval(sampler);
  if (profile !== undefined) writeFileSync(profile, JSON.stringify((await session.post('Profiler.stop')).profile));
  if (heap !== undefined) writeFileSync(heap, JSON.stringify((await session.post('HeapProfiler.stopSampling')).profile));
  await ingest.close();
  await stack.close();
  console.log(events.join('\n'));
} finally {
  await fleet.stop();
  await pgServer.stop();
  tmp.cleanup();
}
