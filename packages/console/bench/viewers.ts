// Server CPU per additional viewer and 50 viewers without a dropped event: 1,000 devices ×
// 10 msg/s into the console while 1, 10 and 50 event-stream viewers (a child process) read;
// the console process's CPU time over the window is compared between viewer counts, and every
// viewer's frame ids must follow one another, with the same points as every other viewer.
//   npx tsx --conditions=@outpost/source packages/console/bench/viewers.ts [DEVICES] [RATE] [SECONDS]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { startBenchFleet } from './fleet.js';

const devices = Number(process.argv[2] ?? 1_000);
const rate = Number(process.argv[3] ?? 10);
const seconds = Number(process.argv[4] ?? 10);

interface ViewerResult { first: number; last: number; frames: number; gaps: number; points: number }

const f = await startBenchFleet();
try {
  await f.publish(devices, rate, 2_000); // warm up
  const rows = [];
  for (const n of [1, 10, 50]) {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'readers.ts'), f.console.url, f.console.token, String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    while (!out.includes('ready\n')) await new Promise((r) => setTimeout(r, 50));
    const slow0 = f.console.stats().slowViewers;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const sent = await f.publish(devices, rate, seconds * 1_000);
    const wall = (performance.now() - t0) / 1_000;
    // The console has taken in what was published once its message count stops growing; then
    // every viewer must read up to the last frame made.
    let seen = -1;
    while (f.console.stats().messages !== seen) { seen = f.console.stats().messages; await new Promise((r) => setTimeout(r, 1_000)); }
    // CPU time from the first publish until everything was taken in (minus the 1 s idle check):
    // on a loaded machine the console's work lags behind the publishing, so not per wall second.
    const cpu = process.cpuUsage(cpu0);
    child.stdin.end(`${f.console.stats().live.frames}\n`);
    await exited;
    const viewers = JSON.parse(out.split('\n')[1] as string) as ViewerResult[];
    // Every viewer saw the frames of the window: compare the ones all of them hold.
    const from = Math.max(...viewers.map((v) => v.first));
    const to = Math.min(...viewers.map((v) => v.last));
    rows.push({
      viewers: n, sent, publishSeconds: Math.round(wall * 10) / 10, serverCpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
      gaps: viewers.reduce((a, v) => a + v.gaps, 0), slowViewersDisconnected: f.console.stats().slowViewers - slow0,
      framesPerViewer: [Math.min(...viewers.map((v) => v.frames)), Math.max(...viewers.map((v) => v.frames))],
      pointsPerViewer: [Math.min(...viewers.map((v) => v.points)), Math.max(...viewers.map((v) => v.points))],
      commonFrames: to - from + 1,
    });
  }
  const one = rows[0] as { serverCpuSeconds: number };
  const fifty = rows[2] as { serverCpuSeconds: number };
  // CPU % of one core per extra viewer at this traffic: extra CPU seconds / traffic seconds / 49.
  const perViewer = (fifty.serverCpuSeconds - one.serverCpuSeconds) / seconds / 49;
  console.log(JSON.stringify({ devices, rate, seconds, rows, cpuPctPerExtraViewer: Math.round(perViewer * 1e4) / 100, loadavg: loadavg().map((x) => Math.round(x * 100) / 100) }, null, 2));
} finally {
  await f.stop();
}
