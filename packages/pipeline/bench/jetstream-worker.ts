// Child process of bench/jetstream-scale.ts: one pipeline worker (lake + PostgreSQL) fed by the
// JetStream source or by the MQTT consumer. Reports every 200 ms over IPC: messages settled, its own
// CPU time (process.cpuUsage, µs), the first and last settle times, and on `stop` the latencies
// from each message's `sent` field (epoch ms, set by the publisher) to the moment it was durable.
import { join } from 'node:path';
import { connectIngest, connectJetStreamIngest, openPipelineStack, type PipelineStack } from '@outpost/pipeline';

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
}

process.once('message', (msg: Start) => {
  void (async () => {
    const latencies: number[] = [];
    let settled = 0;
    let first = 0;
    let last = 0;
    let cpuFirst: NodeJS.CpuUsage | undefined;
    let cpuLast: NodeJS.CpuUsage | undefined;
    const done = (payload: Uint8Array): void => {
      const now = Date.now();
      if (first === 0) {
        first = now;
        cpuFirst = process.cpuUsage();
      }
      last = now;
      cpuLast = process.cpuUsage();
      settled++;
      const sent = (JSON.parse(new TextDecoder().decode(payload)) as { sent?: number }).sent;
      if (typeof sent === 'number') latencies.push(now - sent);
    };
    const tp = msg.tune === 'throughput';
    const stack: PipelineStack = await openPipelineStack({
      lakeDir: join(msg.dir, msg.name),
      lake: { maxAgeMs: tp ? 2_000 : 200 },
      postgres: { connectionString: msg.postgres, maxDelayMs: tp ? 2_000 : 100 },
      ...(tp ? { flushAtInFlight: 1_000 } : {}),
    });
    let close: () => Promise<void>;
    const cpu0 = process.cpuUsage(); // from here: connecting and handling, not opening the stores
    if (msg.mode === 'jetstream') {
      const ingest = await connectJetStreamIngest({ servers: msg.servers ?? [], insecure: true, replicas: msg.replicas ?? 3, name: msg.name, flow: stack.pipeline }, async (m) => {
        await stack.pipeline.handle(m);
        done(m.payload);
      });
      close = async () => {
        await ingest.close();
        await stack.close();
      };
    } else {
      const ingest = await connectIngest(
        { url: msg.url ?? '', ca: msg.ca as string, cert: msg.cert as string, key: msg.key as string, clientId: msg.name, group: 'bench', flow: stack.pipeline, sessionExpirySeconds: 3600 },
        async (m) => {
          await stack.pipeline.handle(m);
          done(m.payload);
        },
      );
      close = async () => {
        await ingest.close();
        await stack.close();
      };
    }
    process.send?.({ ready: true });
    const report = (): void => {
      const c = process.cpuUsage(cpu0);
      // CPU from the first settled message to the last (what handling costs, without start-up and idle time).
      const active = cpuFirst !== undefined && cpuLast !== undefined ? cpuLast.user + cpuLast.system - cpuFirst.user - cpuFirst.system : 0;
      process.send?.({ settled, cpuUs: c.user + c.system, cpuActiveUs: active, first, last });
    };
    const timer = setInterval(report, 200);
    process.on('message', (m: { stop?: boolean }) => {
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
