// Child process of bench/jetstream-scale.ts: one pipeline worker (lake + PostgreSQL) fed by the
// JetStream source or by the MQTT consumer. Reports every 100 ms over IPC the messages settled
// and the first/last settle times; `pause`/`resume` stop and restart its intake (no pulls; the
// MQTT socket not read); answers `mark` and `end` with a snapshot of its own CPU time
// (process.cpuUsage, µs), its settled count and its counters (pulls, messages received, PostgreSQL
// batches, lake files), so that the parent takes every worker's CPU over the same span of the run
// (from the end of the warm-up to the last message) whatever the number of workers. On `stop` it
// sends the latencies from each message's `sent` field (epoch ms, set by the publisher) to the
// moment it was durable.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectIngest, connectJetStreamIngest, openPipelineStack, type IncomingMessage, type PipelineStack } from '@outpost/pipeline';

interface Start {
  mode: 'jetstream' | 'mqtt';
  name: string;
  servers?: string[];
  replicas?: number;
  url?: string;
  ca?: string;
  cert?: string;
  key?: string;
  postgres: string;
  dir: string;
  /** `throughput`: batches bounded by messages in flight (flushAtInFlight 1 000, age bounds 2 s), so their size does not shrink as workers split the stream; default: age bounds 200/100 ms (latency). */
  tune?: 'throughput' | 'latency';
  /** Source settings under test (JetStream): messages per pull, in flight. */
  batch?: number;
  maxInFlight?: number;
}

/** What a worker says at `mark` and `end`. */
export interface Snapshot { settled: number; cpuUs: number; sysUs: number; pulls: number; received: number; pgBatches: number; lakeFiles: number; at: number; threads: Record<string, number>; groups: number; ackWrites: number; preempted: number }

/**
 * CPU time per thread (Linux /proc, clock ticks of 10 ms; empty elsewhere): which thread a change
 * lands on. Node 20 names no thread, so they are told by creation order (thread ids grow): the
 * main thread; the four V8 platform workers created at start-up (GC helpers, concurrent
 * compilation: `v8`); then everything created later (`later`: the libuv pool for files and the
 * lake's Parquet worker thread). THREADS_BY_ID=1 lists every thread by id instead.
 */
/** Involuntary context switches of all the process's threads (Linux): how often the kernel took a CPU from it. */
function preempted(): number {
  let n = 0;
  try {
    for (const t of readdirSync('/proc/self/task')) n += Number(/nonvoluntary_ctxt_switches:\s*(\d+)/.exec(readFileSync(`/proc/self/task/${t}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    /* not Linux */
  }
  return n;
}

function threadTicks(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    const tids = readdirSync('/proc/self/task').map(Number).sort((a, b) => a - b);
    tids.forEach((t, i) => {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[0-9]+$/, '');
      const name = t === process.pid ? 'main' : process.env['THREADS_BY_ID'] !== undefined ? `${comm}-${t}` : comm !== 'node' ? comm : i <= 4 ? 'v8' : 'later';
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + Number(f[11]) + Number(f[12]);
    });
  } catch {
    /* not Linux */
  }
  return out;
}

process.once('message', (msg: Start) => {
  void (async () => {
    const latencies: number[] = [];
    let settled = 0;
    let first = 0;
    let last = 0;
    const done = (payload: Uint8Array): void => {
      const now = Date.now();
      if (first === 0) first = now;
      last = now;
      settled++;
      if (msg.tune !== 'throughput') {
        const sent = (JSON.parse(new TextDecoder().decode(payload)) as { sent?: number }).sent;
        if (typeof sent === 'number') latencies.push(now - sent);
      }
    };
    const tp = msg.tune === 'throughput';
    const stack: PipelineStack = await openPipelineStack({
      lakeDir: join(msg.dir, msg.name),
      lake: { maxAgeMs: tp ? 2_000 : 200 },
      postgres: { connectionString: msg.postgres, maxDelayMs: tp ? 2_000 : 100 },
      ...(tp ? { flushAtInFlight: 1_000 } : {}),
    });
    // Throughput: the pipeline's own promise as the handler (one per write group, as `outpost
    // pipeline` and runPipeline run it; settled counted from the source's acks). Latency: a
    // wrapper per message that takes each message's time to durable.
    let groups = 0; // distinct promises handed back: the pipeline's write groups (and dead letters)
    let lastGroup: Promise<void> | undefined;
    const handler = (m: IncomingMessage): Promise<void> => {
      const p = stack.pipeline.handle(m);
      if (p !== lastGroup) groups++;
      lastGroup = p;
      return tp ? p : p.then(() => done(m.payload));
    };
    let close: () => Promise<void>;
    let counters: () => { pulls: number; received: number; settled: number; ackWrites: number };
    let intake: { pause(): void; resume(): void };
    let diag: () => Record<string, unknown> = () => ({});
    if (msg.mode === 'jetstream') {
      const ingest = await connectJetStreamIngest(
        { servers: msg.servers ?? [], insecure: true, replicas: msg.replicas ?? 3, name: msg.name, flow: stack.pipeline, ...(msg.batch !== undefined ? { batch: msg.batch } : {}), ...(msg.maxInFlight !== undefined ? { maxInFlight: msg.maxInFlight } : {}) },
        handler,
      );
      counters = () => { const s = ingest.stats(); return { pulls: s.pulls, received: s.received, settled: tp ? s.acked + s.termed : settled, ackWrites: s.ackWrites }; };
      intake = ingest;
      diag = () => {
        const { received, pending, pulls, pullErrors, paused, pauses, naked, redelivered } = ingest.stats();
        const { inFlight, held, delivered } = stack.pipeline.stats();
        return { received, pending, pulls, pullErrors, paused, pauses, naked, redelivered, pipelineInFlight: inFlight, held, delivered };
      };
      close = async () => {
        await ingest.close();
        await stack.close();
      };
    } else {
      const ingest = await connectIngest(
        { url: msg.url ?? '', ca: msg.ca as string, cert: msg.cert as string, key: msg.key as string, clientId: msg.name, group: 'bench', flow: stack.pipeline, sessionExpirySeconds: 3600 },
        handler,
      );
      counters = () => { const s = ingest.stats(); return { pulls: 0, received: s.received, settled: tp ? s.acked : settled, ackWrites: 0 }; };
      intake = ingest;
      close = async () => {
        await ingest.close();
        await stack.close();
      };
    }
    process.send?.({ ready: true });
    const snapshot = (): Snapshot => {
      const c = process.cpuUsage();
      const s = stack.stats();
      const pg = s.store as { batches?: number } | undefined;
      return { cpuUs: c.user + c.system, sysUs: c.system, ...counters(), pgBatches: pg?.batches ?? 0, lakeFiles: s.lake.files, at: Date.now(), threads: threadTicks(), groups, preempted: preempted() };
    };
    const report = (): void => {
      process.send?.({ settled: counters().settled, first, last, diag: diag() });
    };
    const timer = setInterval(report, 100);
    process.on('message', (m: { stop?: boolean; mark?: boolean; end?: boolean; pause?: boolean; resume?: boolean }) => {
      if (m.pause === true) intake.pause();
      if (m.resume === true) intake.resume();
      if (m.mark === true) process.send?.({ mark: snapshot() });
      if (m.end === true) process.send?.({ end: snapshot() });
      if (m.stop !== true) return;
      clearInterval(timer);
      report();
      void close().finally(() => {
        process.send?.({ latencies });
        process.exit(0);
      });
    });
  })();
});
