// The benchmarks' fleet: Mosquitto with mTLS (the device-sdk fixture), a publisher identity
// allowed to publish for every device, a console on 127.0.0.1, and the publisher child process.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@outpost/test-peers';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';
import { startConsole, type Console } from '../src/index.js';

export interface BenchFleet {
  readonly fleet: Fleet;
  readonly console: Console;
  /** Publishes `devices` × `rate` msg/s for `ms` in a child process; resolves with the count sent. */
  publish(devices: number, rate: number, ms: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startBenchFleet(): Promise<BenchFleet> {
  const fleet = await startFleet({
    maxQueuedMessages: 100_000,
    services: { 'bench-console': ['devices/+/telemetry', 'devices/+/status', 'alerts/#', '$aws/things/+/shadow/#'], 'bench-pub': ['devices/+/telemetry'] },
  });
  const creds = tempDir('outpost-console-bench-');
  writeFileSync(join(creds.path, 'ca.pem'), fleet.ca.certificatePem);
  const pub = await fleet.device('bench-pub');
  writeFileSync(join(creds.path, 'pub.pem'), pub.cert);
  writeFileSync(join(creds.path, 'pub.key'), pub.key);
  const c = await fleet.device('bench-console');
  const con = await startConsole({ brokerUrl: fleet.url, ca: fleet.ca.certificatePem, cert: c.cert, key: c.key, clientId: 'bench-console', shadow: false });
  return {
    fleet,
    console: con,
    publish: (devices, rate, ms) => new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'publisher.ts'), fleet.url, creds.path, String(devices), String(rate), String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
      child.on('exit', (code) => (code === 0 ? resolve((JSON.parse(out) as { sent: number }).sent) : reject(new Error(`publisher exited ${code}`))));
    }),
    async stop() {
      await con.close();
      await fleet.stop();
      creds.cleanup();
    },
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
