// MQTT-based file delivery end to end: the stream server and the device downloader through a
// real Mosquitto with mTLS and the per-device ACL from brokerConfig().
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { tempDir } from '@outpost/test-peers';
import { decodeDataBlock, downloadStream, encodeDataBlock, JobsError, startStreamServer, type StreamDataBlock, type StreamMqtt, type StreamServer, type StreamSource } from '../src/index.js';
import { STREAM_SERVICE, startStreamFleet, type StreamFleet } from './fixtures/stream-fleet.js';

let sf: StreamFleet;
let serviceMqtt: MqttClient;
let server: StreamServer;
const tmp = tempDir('outpost-streams-');
const image = new Uint8Array(randomBytes(300 * 1024 + 123));
const imagePath = join(tmp.path, 'fw.bin');
const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/**
 * A man in the middle on the server's side of the broker: `tamper` sees each data block the
 * server publishes and may change or drop it before it reaches the broker.
 */
type Tamper = (topic: string, payload: Uint8Array) => Uint8Array | undefined;

function middle(inner: MqttClient, tamper: Tamper): StreamMqtt {
  return {
    publish: (topic, payload, options, cb) => {
      const out = tamper(topic, typeof payload === "string" ? new TextEncoder().encode(payload) : payload);
      if (out === undefined) { cb?.(null); return undefined; } // dropped in transit
      return inner.publish(topic, Buffer.from(out), { qos: options?.qos ?? 1 }, cb);
    },
    subscribe: (f, o, cb) => inner.subscribe(f, { qos: o?.qos ?? 1 }, cb),
    on: (e, l) => inner.on(e, l),
    removeListener: (e, l) => inner.removeListener(e, l),
  };
}

/** Flips bit 6 of byte `at` in the first CBOR data block that `select` picks. */
function flipOnce(select: (b: StreamDataBlock) => boolean, at: number): { tamper: Tamper; count(): number } {
  let n = 0;
  return {
    count: () => n,
    tamper: (topic, payload) => {
      if (!topic.endsWith('/data/cbor') || n > 0) return payload;
      const b = decodeDataBlock(payload, 'cbor');
      if (!select(b)) return payload;
      n++;
      const p = new Uint8Array(b.p);
      p[at]! ^= 0x40;
      return encodeDataBlock({ ...b, p }, 'cbor');
    },
  };
}

/** Runs `fn` while a stream server behind a tampering man in the middle serves `streams`. */
async function serving(streams: Record<string, StreamSource>, tamper: Tamper, fn: () => Promise<void>): Promise<void> {
  const svc = await sf.connect(STREAM_SERVICE);
  const server = await startStreamServer({ mqtt: middle(svc, tamper), streams });
  try {
    await fn();
  } finally {
    await server.stop();
  }
}

beforeAll(async () => {
  writeFileSync(imagePath, image);
  sf = await startStreamFleet();
  serviceMqtt = await sf.connect(STREAM_SERVICE);
  server = await startStreamServer({
    mqtt: serviceMqtt,
    unknownStreams: 'ignore', // the tampering servers below serve their own streams on the same broker
    streams: {
      'fw-1': { version: 3, description: 'firmware 1', files: [{ fileId: 0, path: imagePath, blockDigests: { fileId: 1, blockSize: 1024 } }] },
      small: { files: [{ fileId: 0, data: image.subarray(0, 10_000) }] },
    },
  });
});

afterAll(async () => {
  await server?.stop();
  await sf?.stop();
  tmp.cleanup();
});

describe('stream download through Mosquitto', () => {
  it('downloads a file in CBOR with the block digest list and writes the exact bytes', async () => {
    const dev = await sf.connect('dev-a');
    const path = join(tmp.path, 'a.bin');
    const r = await downloadStream({ mqtt: dev, thing: 'dev-a', streamId: 'fw-1', path, sha256: sha(image), blockDigests: { fileId: 1 } });
    expect(Buffer.compare(readFileSync(path), image)).toBe(0);
    expect(r).toMatchObject({ size: image.length, version: 3, blockSize: 1024, resumedFrom: 0, corruptBlocks: 0 });
    expect(r.blocksReceived).toBeGreaterThanOrEqual(Math.ceil(image.length / 1024));
    expect(existsSync(`${path}.part`) || existsSync(`${path}.journal`)).toBe(false);
  });

  it('downloads in JSON with 256-byte blocks and a last short block', async () => {
    const dev = await sf.connect('dev-b');
    const path = join(tmp.path, 'b.bin');
    const r = await downloadStream({ mqtt: dev, thing: 'dev-b', streamId: 'small', path, sha256: sha(image.subarray(0, 10_000)), format: 'json', blockSize: 256 });
    expect(Buffer.compare(readFileSync(path), image.subarray(0, 10_000))).toBe(0);
    expect(r.requests).toBeGreaterThan(1);
  });

  it('refuses a block corrupted in transit and fetches it again (block digest list)', async () => {
    const flip = flipOnce((b) => b.f === 0 && b.i === 5, 17);
    await serving({ 'fw-evil': { files: [{ fileId: 0, path: imagePath, blockDigests: { fileId: 1, blockSize: 1024 } }] } }, flip.tamper, async () => {
      const dev = await sf.connect('dev-c');
      const path = join(tmp.path, 'c.bin');
      const r = await downloadStream({ mqtt: dev, thing: 'dev-c', streamId: 'fw-evil', path, sha256: sha(image), blockDigests: { fileId: 1 }, timeoutMs: 500 });
      expect(flip.count()).toBe(1);
      expect(r.corruptBlocks).toBe(1);
      expect(Buffer.compare(readFileSync(path), image)).toBe(0);
    });
  });

  it('without a digest list, a corrupted block fails the whole-file digest and the partial file is removed', async () => {
    const flip = flipOnce(() => true, 0);
    await serving({ 'fw-evil2': { files: [{ fileId: 0, path: imagePath }] } }, flip.tamper, async () => {
      const dev = await sf.connect('dev-d');
      const path = join(tmp.path, 'd.bin');
      const err = await downloadStream({ mqtt: dev, thing: 'dev-d', streamId: 'fw-evil2', path, sha256: sha(image) }).catch((e: unknown) => e);
      expect(flip.count()).toBe(1);
      expect(err).toBeInstanceOf(JobsError);
      expect((err as JobsError).code).toBe('DIGEST_MISMATCH');
      expect(existsSync(path) || existsSync(`${path}.part`) || existsSync(`${path}.journal`)).toBe(false);
    });
  });

  it('asks again for blocks lost in transit', async () => {
    let dropped = 0;
    const drop = (topic: string, payload: Uint8Array): Uint8Array | undefined => {
      if (topic.endsWith('/data/cbor') && dropped < 3 && decodeDataBlock(payload, 'cbor').i % 7 === 3) { dropped++; return undefined; }
      return payload;
    };
    await serving({ 'fw-lossy': { files: [{ fileId: 0, data: image.subarray(0, 64 * 1024) }] } }, drop, async () => {
      const dev = await sf.connect('dev-e');
      const path = join(tmp.path, 'e.bin');
      const r = await downloadStream({ mqtt: dev, thing: 'dev-e', streamId: 'fw-lossy', path, sha256: sha(image.subarray(0, 64 * 1024)), blockSize: 1024, timeoutMs: 300 });
      expect(dropped).toBe(3);
      expect(r.timeouts).toBeGreaterThanOrEqual(1);
      expect(Buffer.compare(readFileSync(path), image.subarray(0, 64 * 1024))).toBe(0);
    });
  });

  it('a stream republished mid-download (new version) fails SOURCE_CHANGED, and the next call starts over', async () => {
    let sent = 0;
    let republish: (() => void) | undefined;
    const count: Tamper = (topic, payload) => {
      if (topic.endsWith('/data/cbor') && ++sent === 40) republish?.();
      return payload;
    };
    const svc = await sf.connect(STREAM_SERVICE);
    const data = image.subarray(0, 200 * 1024);
    const server = await startStreamServer({ mqtt: middle(svc, count), streams: { 'fw-v': { version: 1, files: [{ fileId: 0, data }] } } });
    republish = () => { void server.setStream('fw-v', { version: 2, files: [{ fileId: 0, data }] }); };
    try {
      const dev = await sf.connect('dev-v');
      const path = join(tmp.path, 'v.bin');
      const o = { mqtt: dev, thing: 'dev-v', streamId: 'fw-v', path, sha256: sha(data), blockSize: 1024, requestsInFlight: 1, windowBlocks: 8, journalEveryBytes: 8 * 1024 };
      const err = await downloadStream(o).catch((e: unknown) => e);
      expect((err as JobsError).code).toBe('SOURCE_CHANGED');
      expect(existsSync(`${path}.journal`)).toBe(true);
      const r = await downloadStream(o);
      expect(r).toMatchObject({ version: 2, restarts: 1 });
      expect(r.resumedFrom).toBeGreaterThan(0);
      expect(Buffer.compare(readFileSync(path), data)).toBe(0);
    } finally {
      await server.stop();
    }
  });

  it('wrong option types and values', async () => {
    const dev = await sf.connect('dev-w');
    const base = { mqtt: dev, thing: 'dev-w', streamId: 'fw-1', path: join(tmp.path, 'w.bin'), sha256: sha(image) };
    await expect(downloadStream({ ...base, sha256: new Uint8Array(31) })).rejects.toThrow(TypeError);
    await expect(downloadStream({ ...base, blockSize: 255 })).rejects.toThrow(RangeError);
    await expect(downloadStream({ ...base, windowBlocks: 0 })).rejects.toThrow(RangeError);
    await expect(downloadStream({ ...base, mqtt: {} as StreamMqtt })).rejects.toThrow(TypeError);
    await expect(downloadStream({ ...base, thing: 'a/b' })).rejects.toMatchObject({ code: 'BAD_NAME' });
  });

  it('an unknown stream is rejected with the server\'s error code', async () => {
    const svc = await sf.connect('stream-service');
    const strict = await startStreamServer({ mqtt: svc, streams: {} });
    const dev = await sf.connect('dev-f');
    const err = await downloadStream({ mqtt: dev, thing: 'dev-f', streamId: 'nope', path: join(tmp.path, 'f.bin'), sha256: sha(image), timeoutMs: 2000 }).catch((e: unknown) => e);
    expect((err as JobsError).code).toBe('STREAM_REJECTED');
    expect((err as JobsError).value).toMatchObject({ o: 'ResourceNotFound' });
    await strict.stop();
  });

  it('a device cannot read another device\'s stream topics (the broker refuses the subscription)', async () => {
    const dev = await sf.connect('dev-g');
    const err = await downloadStream({ mqtt: dev, thing: 'dev-a', streamId: 'fw-1', path: join(tmp.path, 'g.bin'), sha256: sha(image), timeoutMs: 500, maxRetries: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobsError);
    expect((err as JobsError).code).toBe('NOT_AUTHORIZED');
    expect(existsSync(join(tmp.path, 'g.bin'))).toBe(false);
  });
});
