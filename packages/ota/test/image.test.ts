// Image transfer attacks and faults: tampering, truncation, overlong images, mix-and-match,
// stalls (deadline and minimum rate, on a manual clock).
import { describe, expect, it } from 'vitest';
import { streamImage, type StreamImageOptions } from '../src/index.js';
import { chunks, makeImage, release, sha256 } from './helpers/release.js';
import { ManualClock } from './helpers/sim-fs.js';

const img = makeImage(10_000, 1);
const base: StreamImageOptions = { expectedSize: img.length, expectedDigest: sha256(img) };
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

describe('streamImage', () => {
  it('accepts the declared image in any chunking and passes every byte on', async () => {
    for (const size of [1, 7, 1000, 10_000]) {
      const got: Uint8Array[] = [];
      const r = await streamImage(chunks(img, size), { ...base, write: async (c) => { got.push(c.slice()); } });
      expect(r.size).toBe(img.length);
      expect(Buffer.concat(got).equals(Buffer.from(img))).toBe(true);
    }
  });
  it('a bit flipped at the start, the middle, the end: DIGEST_MISMATCH', async () => {
    for (const at of [0, img.length >> 1, img.length - 1]) {
      const t = img.slice();
      t[at] = (t[at] as number) ^ 0x80;
      expect(await codeOf(streamImage(chunks(t), base))).toBe('DIGEST_MISMATCH');
    }
  });
  it('a truncated image: IMAGE_TRUNCATED', async () => {
    expect(await codeOf(streamImage(chunks(img.subarray(0, img.length - 1)), base))).toBe('IMAGE_TRUNCATED');
    expect(await codeOf(streamImage(chunks(new Uint8Array(0)), base))).toBe('IMAGE_TRUNCATED');
  });
  it('an image longer than declared: IMAGE_TOO_LONG at the first extra byte, nothing past the size written', async () => {
    let written = 0;
    const longer = Uint8Array.of(...img, 0);
    expect(await codeOf(streamImage(chunks(longer, 999), { ...base, write: async (c) => { written += c.length; } }))).toBe('IMAGE_TOO_LONG');
    expect(written).toBeLessThanOrEqual(img.length);
    // an endless source is cut off too
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) yield new Uint8Array(4096);
    }
    expect(await codeOf(streamImage(endless(), base))).toBe('IMAGE_TOO_LONG');
  });
  it("mix-and-match: a valid manifest with another valid release's image", async () => {
    const a = release('1.1.0', 11, { size: 5000, imageSeed: 1 });
    const b = release('1.2.0', 12, { size: 5000, imageSeed: 2 });
    expect(await codeOf(streamImage(chunks(b.image), { expectedSize: a.fields.imageSize, expectedDigest: a.fields.imageDigest }))).toBe('DIGEST_MISMATCH');
  });
  it('a download that stalls: the deadline aborts it', async () => {
    const clock = new ManualClock();
    async function* stalls(): AsyncGenerator<Uint8Array> {
      yield img.subarray(0, 100);
      await new Promise(() => undefined); // never continues
    }
    const p = codeOf(streamImage(stalls(), { ...base, clock, deadlineMs: 60_000 }));
    let done: string | undefined;
    void p.then((c) => { done = c; });
    for (let i = 0; i < 200 && done === undefined; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(1_000);
    }
    expect(done).toBe('DEADLINE');
    expect(clock.now()).toBeGreaterThan(60_000);
  });
  it('a download that trickles: the minimum rate aborts it, a fast one passes', async () => {
    const clock = new ManualClock();
    async function* trickle(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < img.length; i += 10) {
        clock.advance(1000); // 10 bytes per second
        yield img.subarray(i, i + 10);
      }
    }
    expect(await codeOf(streamImage(trickle(), { ...base, clock, minBytesPerSecond: 100, rateWindowMs: 10_000 }))).toBe('STALLED');
    const c2 = new ManualClock();
    async function* fast(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < img.length; i += 1000) {
        c2.advance(1000); // 1000 bytes per second
        yield img.subarray(i, i + 1000);
      }
    }
    expect(await codeOf(streamImage(fast(), { ...base, clock: c2, minBytesPerSecond: 100, rateWindowMs: 5_000 }))).toBe('OK');
  });
  it('an abort signal stops it', async () => {
    const ac = new AbortController();
    ac.abort();
    expect(await codeOf(streamImage(chunks(img), { ...base, signal: ac.signal }))).toBe('ABORTED');
  });
});
