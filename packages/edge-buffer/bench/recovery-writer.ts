// Child of bench/recovery-tail.ts: opens the buffer, appends 256-byte records until a new
// segment has started and holds TAIL_MIB MiB, prints "ready" and waits to be killed (kill -9).
//   tsx recovery-writer.ts DIR TAIL_MIB
import { openBuffer } from '@outpost/edge-buffer';
import { payload } from './util.js';

const [dir, tailArg] = process.argv.slice(2);
const tailBytes = Number(tailArg) * 2 ** 20;
const SIZE = 256;
const buf = await openBuffer({ dir: dir!, maxBytes: 8 * 2 ** 30, segmentBytes: 64 << 20, durability: 'none' });
const p = payload(SIZE, 3);
const startSegments = buf.stats().segments;
let inNew = 0;
let paused = false;
const window: Promise<number>[] = [];
while (inNew < tailBytes) {
  window.push(buf.append(p));
  if (buf.stats().segments > startSegments) {
    inNew += SIZE + 16;
    if (!paused) {
      // The segment just completed goes into the seal's index (the checkpointer writes it in the
      // background); give it that moment, so the crash leaves exactly one unsealed segment.
      paused = true;
      await Promise.all(window.splice(0));
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  if (window.length >= 256) await Promise.all(window.splice(0));
}
await Promise.all(window);
process.stdout.write('ready\n');
setInterval(() => undefined, 1000); // until SIGKILL: no close, no seal
