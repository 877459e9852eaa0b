// The PostgreSQL sink alone, as the ingest bench drives it: the bench's 200,000 points (50,000
// messages decoded by the pipeline's decoder, so they are the trusted frozen points the sink gets
// from a pipeline) written in groups of 2,000 with batchRows 5,000, four rounds on fresh tables.
// Prints wall time, this process's CPU and the server's CPU (postmaster and backends, /proc).
//   npx tsx --conditions=@outpost/source packages/pipeline/bench/postgres-sink.ts
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres } from '@outpost/test-peers';
import { createPostgresSink } from '../src/postgres.js';
import { createDecoder } from '../src/decode.js';
import { payload } from './ingest-data.js';
const pgs = await startPostgres();
const tick = 100; // USER_HZ
function serverCpuMs(): number {
  const pm = Number(readFileSync(join(pgs.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  let t = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(f[1]);
      if (Number(d) === pm || ppid === pm) t += (Number(f[11]) + Number(f[12])) * (1000 / tick);
    } catch { /* gone */ }
  }
  return t;
}
const decode = createDecoder();
const enc = new TextEncoder();
const t0 = Date.now() - 2_600_000;
try {
  for (const round of [0, 1, 2, 3]) {
    const s = createPostgresSink({ connectionString: pgs.url, table: `m${round}`, batchRows: 5000, maxDelayMs: 1000 });
    await s.ensureSchema();
    const groups: ReturnType<typeof decode>[] = [];
    let g: ReturnType<typeof decode> = [];
    for (let seq = 0; seq < 2500; seq++) for (let d = 0; d < 20; d++) {
      g.push(...decode({ topic: `devices/meter-${d}/telemetry`, payload: enc.encode(payload(d, seq, t0)), receivedAt: Date.now() }));
      if (g.length >= 2000) { groups.push(g); g = []; }
    }
    if (g.length > 0) groups.push(g);
    const cpu = process.cpuUsage();
    const srv = serverCpuMs();
    const st = performance.now();
    const ws = groups.map((x) => s.write(x));
    await s.flush();
    await Promise.all(ws);
    const ms = performance.now() - st;
    const c = process.cpuUsage(cpu);
    console.log(`round ${round}: ${ms.toFixed(0)} ms, ${Math.round(200_000 / ms * 1000)} rows/s, node CPU ${((c.user + c.system) / 1000).toFixed(0)} ms, server CPU ${(serverCpuMs() - srv).toFixed(0)} ms`);
    await s.close();
  }
} finally { await pgs.stop(); }
