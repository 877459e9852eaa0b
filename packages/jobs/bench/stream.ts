// MQTT stream download of a 16 MiB image through Mosquitto (mutual TLS, the per-device ACL) vs
// publishing the same bytes as raw QoS 1 messages of the same block size, in the same run.
// Stream: the device's downloadStream (GetStream windows of 128 KiB, CBOR, SHA-256 as bytes
// arrive, journal fsync'd every 1 MiB, file written) against startStreamServer reading the file.
// Raw: the service publishes the blocks to the device's own stream topic at QoS 1; the device
// counts bytes. Goal (issue #17): stream ≥ 0.5× raw.
// Data blocks go out at the server's default dataQos 0 (DATA_QOS=1 for QoS 1 blocks).
// Run: npx tsx --conditions=@outpost/source packages/jobs/bench/stream.ts [blockSize]
import { createHash, randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { downloadStream, startStreamServer } from '@outpost/jobs';
import { STREAM_SERVICE, startStreamFleet } from '../test/fixtures/stream-fleet.js';

const SIZE = 16 * 1024 * 1024;
const BLOCK = Number(process.argv[2] ?? 4096);
const ROUNDS = 5;
const image = new Uint8Array(randomBytes(SIZE));
const sha256 = new Uint8Array(createHash('sha256').update(image).digest());

const sf = await startStreamFleet();
const dir = sf.fleet.dir;
writeFileSync(join(dir, 'image.bin'), image);
const svc = await sf.connect(STREAM_SERVICE);
const server = await startStreamServer({ mqtt: svc, dataQos: process.env["DATA_QOS"] === "1" ? 1 : 0, streams: { img: { files: [{ fileId: 0, path: join(dir, 'image.bin'), blockDigests: { fileId: 1, blockSize: BLOCK } }] } } });
const dev = await sf.connect('bench-dev');

async function stream(digests: boolean): Promise<number> {
  const path = join(dir, 'out.bin');
  rmSync(path, { force: true });
  const t0 = performance.now();
  const r = await downloadStream({ mqtt: dev, thing: "bench-dev", streamId: "img", path, sha256, blockSize: BLOCK, requestsInFlight: Number(process.env["INFLIGHT"] ?? 4), journalEveryBytes: Number(process.env["JOURNAL"] ?? 1 << 20), ...(digests ? { blockDigests: { fileId: 1 } } : {}) });
  if (r.timeouts > 0) console.log(`(${r.timeouts} quiet periods in this run)`);
  return performance.now() - t0;
}

const rawTopic = '$aws/things/bench-dev/streams/raw/data/cbor';
await dev.subscribeAsync(rawTopic, { qos: 1 });
async function raw(): Promise<number> {
  let got = 0;
  const done = new Promise<void>((resolve) => {
    const on = (topic: string, p: Buffer): void => {
      if (topic !== rawTopic) return;
      got += p.length;
      if (got >= SIZE) { dev.removeListener('message', on); resolve(); }
    };
    dev.on('message', on);
  });
  const t0 = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let o = 0; o < SIZE; o += BLOCK) sends.push(svc.publishAsync(rawTopic, Buffer.from(image.buffer, o, Math.min(BLOCK, SIZE - o)), { qos: 1 }));
  await Promise.all(sends);
  await done;
  return performance.now() - t0;
}

const mibs = (ms: number): string => (SIZE / 1048576 / (ms / 1000)).toFixed(1);
const rows: Array<[string, number[]]> = [['raw QoS 1 publish', []], ['stream (no digest list)', []], ['stream + block digests', []]];
for (let r = 0; r < ROUNDS; r++) {
  rows[0]![1].push(await raw());
  rows[1]![1].push(await stream(false));
  rows[2]![1].push(await stream(true));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`16 MiB, block ${BLOCK} B, median of ${ROUNDS} (alternating)`);
for (const [name, xs] of rows) console.log(`${name.padEnd(26)} ${mibs(median(xs)).padStart(7)} MiB/s  (${xs.map((x) => x.toFixed(0)).join(', ')} ms)  ratio to raw ${(median(rows[0]![1]) / median(xs)).toFixed(2)}`);
await server.stop();
await sf.stop();
