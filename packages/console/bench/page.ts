// 1,000 devices × 10 msg/s into one open console page in headless Chromium: the page's main
// thread busy share (CDP Performance.getMetrics TaskDuration over wall time; goal < 50 %) and
// publish → pixel latency (the page stamps each point it draws on a shown chart with the time
// after the frame was drawn minus the point's publish time; goal p95 < 250 ms).
//   npx tsx --conditions=@outpost/source packages/console/bench/page.ts [DEVICES] [RATE] [SECONDS]
import { loadavg } from 'node:os';
import { launchChromium, logIn } from '../test/fixtures/browser.js';
import { percentile, startBenchFleet } from './fleet.js';

const devices = Number(process.argv[2] ?? 1_000);
const rate = Number(process.argv[3] ?? 10);
const seconds = Number(process.argv[4] ?? 15);

const f = await startBenchFleet();
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1366, height: 800 });
  await logIn(page, f.console.url, f.console.token);
  // Warm up: every device known, the live view showing its first 12 charts.
  await f.publish(devices, rate, 3_000);
  await page.waitForSelector('figure[data-device] figcaption[data-points]');
  await page.evaluate(() => { (globalThis as unknown as { outpostConsole: { store: { lags: number[] } } }).outpostConsole.store.lags = []; });
  const cdp = await page.createCDPSession();
  await cdp.send('Performance.enable');
  const metric = async (name: string): Promise<number> => ((await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === name)?.value ?? 0);
  const task0 = await metric('TaskDuration');
  const cpu0 = process.cpuUsage();
  const frames0 = f.console.stats().live.frames;
  const t0 = performance.now();
  const sent = await f.publish(devices, rate, seconds * 1_000);
  const wall = (performance.now() - t0) / 1_000;
  const task1 = await metric('TaskDuration');
  const cpu = process.cpuUsage(cpu0);
  const frames = f.console.stats().live.frames - frames0;
  const stats = await page.evaluate(() => (globalThis as unknown as { outpostConsole: { stats(): { frames: number; gaps: number; lags: number[]; devices: number } } }).outpostConsole.stats());
  const lags = [...stats.lags].sort((a, b) => a - b);
  const s = f.console.stats();
  console.log(JSON.stringify({
    devices, rate, seconds, sent, sentPerSecond: Math.round(sent / wall),
    mainThreadBusyPct: Math.round((1_000 * (task1 - task0)) / wall) / 10,
    publishToPixelMs: { samples: lags.length, p50: Math.round(percentile(lags, 50)), p95: Math.round(percentile(lags, 95)), p99: Math.round(percentile(lags, 99)) },
    page: { frames: stats.frames, gaps: stats.gaps, devices: stats.devices },
    server: { cpuPct: Math.round((cpu.user + cpu.system) / 1e4 / wall), framesPerSecond: Math.round((10 * frames) / wall) / 10, messages: s.messages, rejected: s.rejected, retainedPoints: s.live.retainedPoints, droppedPoints: s.live.droppedPoints, heapMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20) },
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  }, null, 2));
} finally {
  await browser.close();
  await f.stop();
}
