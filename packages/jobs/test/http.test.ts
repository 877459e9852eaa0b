// Resumable HTTP(S) download against real servers: the reference file server (node:http and
// node:https with the fleet's certificates) and a plain node:http server without Range support.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '@outpost/test-peers';
import { downloadHttp, JobsError, startFileServer, type FileServer } from '../src/index.js';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';
import { startCutProxy } from './fixtures/cut-proxy.js';

const tmp = tempDir('outpost-http-');
const root = join(tmp.path, 'www');
const out = join(tmp.path, 'out');
const image = new Uint8Array(randomBytes(2 * 1024 * 1024 + 77));
const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
let server: FileServer;

beforeAll(async () => {
  mkdirSync(root);
  mkdirSync(out);
  writeFileSync(join(root, 'fw.bin'), image);
  server = await startFileServer({ root });
});
afterAll(async () => {
  await server?.stop();
  tmp.cleanup();
});

describe('the reference file server', () => {
  const get = async (headers: Record<string, string>, path = '/fw.bin', method: 'GET' | 'HEAD' = 'GET') => {
    const r = await request(server.url + path, { method, headers });
    const body = new Uint8Array(await r.body.arrayBuffer());
    return { status: r.statusCode, headers: r.headers, body };
  };
  it('answers a range with 206 and Content-Range, a suffix range, and 416 past the end', async () => {
    const r = await get({ range: 'bytes=10-19' });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes 10-19/${image.length}`);
    expect(Buffer.compare(r.body, image.subarray(10, 20))).toBe(0);
    const s = await get({ range: 'bytes=-5' });
    expect(Buffer.compare(s.body, image.subarray(image.length - 5))).toBe(0);
    const u = await get({ range: `bytes=${image.length}-` });
    expect(u.status).toBe(416);
    expect(u.headers['content-range']).toBe(`bytes */${image.length}`);
  });
  it('If-Range with another ETag sends the whole file (200); with the right one, the range', async () => {
    const head = await get({}, '/fw.bin', 'HEAD');
    const etag = head.headers['etag'] as string;
    expect(etag).toMatch(/^"[0-9a-f-]+"$/);
    expect((await get({ range: 'bytes=5-', 'if-range': '"other"' })).status).toBe(200);
    expect((await get({ range: 'bytes=5-', 'if-range': etag })).status).toBe(206);
  });
  it('nothing outside the root, and only GET and HEAD', async () => {
    expect((await get({}, '/../http.test.ts')).status).toBe(404);
    expect((await get({}, '/%2e%2e/%2e%2e/etc/passwd')).status).toBe(404);
    expect((await request(server.url + '/fw.bin', { method: 'DELETE' })).statusCode).toBe(405);
  });
});

describe('downloadHttp', () => {
  it('downloads the whole file and checks its digest', async () => {
    const path = join(out, 'a.bin');
    const r = await downloadHttp({ url: `${server.url}/fw.bin`, path, sha256: sha(image), size: image.length });
    expect(r).toMatchObject({ size: image.length, requests: 1, rangeRequests: 0, restarts: 0, resumedFrom: 0 });
    expect(Buffer.compare(readFileSync(path), image)).toBe(0);
  });

  it('a connection cut mid-body is resumed with a Range from the durable offset', async () => {
    const proxy = await startCutProxy(server.port, 700 * 1024);
    try {
      const path = join(out, 'b.bin');
      const r = await downloadHttp({ url: `http://127.0.0.1:${proxy.port}/fw.bin`, path, sha256: sha(image), journalEveryBytes: 64 * 1024 });
      expect(proxy.connections()).toBe(2);
      expect(r).toMatchObject({ requests: 2, rangeRequests: 1, restarts: 0 });
      expect(Buffer.compare(readFileSync(path), image)).toBe(0);
    } finally {
      await proxy.stop();
    }
  });

  it('an interrupted download resumes in the next call from its journal; only the rest is sent', async () => {
    const path = join(out, 'c.bin');
    const ac = new AbortController();
    const err = await downloadHttp({ url: `${server.url}/fw.bin`, path, sha256: sha(image), journalEveryBytes: 128 * 1024, signal: ac.signal, onProgress: (n) => { if (n > image.length / 2) ac.abort(); } }).catch((e: unknown) => e);
    expect((err as JobsError).code).toBe('ABORTED');
    const journal = JSON.parse(readFileSync(`${path}.journal`, 'utf8')) as { offset: number };
    expect(journal.offset).toBeGreaterThan(image.length / 2);
    const before = server.stats().bytesSent;
    const r = await downloadHttp({ url: `${server.url}/fw.bin`, path, sha256: sha(image) });
    expect(r.resumedFrom).toBe(journal.offset);
    expect(r.rangeRequests).toBe(1);
    expect(server.stats().bytesSent - before).toBe(image.length - journal.offset);
    expect(Buffer.compare(readFileSync(path), image)).toBe(0);
  });

  it('a file rewritten on the server between attempts (new ETag) starts over through If-Range, never mixes', async () => {
    const path = join(out, 'd.bin');
    const file = join(root, 'changing.bin');
    writeFileSync(file, image);
    const partial = async (sha256: Uint8Array): Promise<void> => {
      const ac = new AbortController();
      await downloadHttp({ url: `${server.url}/changing.bin`, path, sha256, journalEveryBytes: 64 * 1024, signal: ac.signal, onProgress: (n) => { if (n > 300 * 1024) ac.abort(); } }).catch(() => undefined);
      expect(existsSync(`${path}.journal`)).toBe(true);
    };
    await partial(sha(image));
    writeFileSync(file, image); // same bytes, new modification time: another ETag
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const r = await downloadHttp({ url: `${server.url}/changing.bin`, path, sha256: sha(image) });
    expect(r).toMatchObject({ restarts: 1, rangeRequests: 0 });
    expect(r.resumedFrom).toBeGreaterThan(0);
    expect(Buffer.compare(readFileSync(path), image)).toBe(0);

    // Other bytes under the same URL while the manifest still names the old digest: refused as a
    // whole (the new file from byte 0, not a mix), and the partial file is gone.
    await partial(sha(image));
    const v2 = new Uint8Array(image);
    v2[image.length - 1]! ^= 0xff;
    writeFileSync(file, v2);
    utimesSync(file, new Date(), new Date(Date.now() + 10_000));
    const err = await downloadHttp({ url: `${server.url}/changing.bin`, path, sha256: sha(image) }).catch((e: unknown) => e);
    expect((err as JobsError).code).toBe('DIGEST_MISMATCH');
    expect(existsSync(`${path}.part`) || existsSync(`${path}.journal`)).toBe(false);
  });

  it('resumes over HTTPS with the fleet certificates', async () => {
    let fleet: Fleet | undefined;
    let tlsServer: FileServer | undefined;
    try {
      fleet = await startFleet();
      tlsServer = await startFileServer({ root, tls: { cert: readFileSync(join(fleet.dir, 'server.pem'), 'utf8'), key: readFileSync(join(fleet.dir, 'server.key'), 'utf8') } });
      const dispatcher = new Agent({ connect: { ca: fleet.ca.certificatePem, servername: 'localhost' } });
      const path = join(out, 'e.bin');
      const ac = new AbortController();
      await downloadHttp({ url: `${tlsServer.url}/fw.bin`, path, sha256: sha(image), dispatcher, journalEveryBytes: 64 * 1024, signal: ac.signal, onProgress: (n) => { if (n > 500 * 1024) ac.abort(); } }).catch(() => undefined);
      const r = await downloadHttp({ url: `${tlsServer.url}/fw.bin`, path, sha256: sha(image), dispatcher });
      expect(r.resumedFrom).toBeGreaterThan(0);
      expect(r.rangeRequests).toBe(1);
      expect(Buffer.compare(readFileSync(path), image)).toBe(0);
      await dispatcher.close();
    } finally {
      await tlsServer?.stop();
      await fleet?.stop();
    }
  });

  it('a server without Range support (plain node:http): the resumed download starts over and completes', async () => {
    let served = 0;
    const plain = createServer((req, res) => {
      served++;
      res.writeHead(200, { 'content-length': image.length });
      createReadStream(join(root, 'fw.bin')).pipe(res);
    });
    await new Promise<void>((ok) => plain.listen(0, '127.0.0.1', () => ok()));
    try {
      const url = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/fw.bin`;
      const path = join(out, 'f.bin');
      const ac = new AbortController();
      await downloadHttp({ url, path, sha256: sha(image), journalEveryBytes: 64 * 1024, signal: ac.signal, onProgress: (n) => { if (n > 300 * 1024) ac.abort(); } }).catch(() => undefined);
      const r = await downloadHttp({ url, path, sha256: sha(image) });
      expect(r.resumedFrom).toBeGreaterThan(0);
      expect(r.rangeRequests).toBe(0);
      expect(served).toBe(2);
      expect(Buffer.compare(readFileSync(path), image)).toBe(0);
    } finally {
      await new Promise<void>((ok) => plain.close(() => ok()));
    }
  });

  it('an HTTP error status is a typed error', async () => {
    const err = await downloadHttp({ url: `${server.url}/missing.bin`, path: join(out, 'g.bin'), sha256: sha(image) }).catch((e: unknown) => e);
    expect((err as JobsError).code).toBe('BAD_RESPONSE');
    expect((err as JobsError).value).toBe(404);
  });

  it('wrong argument types and values', async () => {
    await expect(downloadHttp({ url: 'ftp://x', path: 'p', sha256: sha(image) })).rejects.toThrow(TypeError);
    await expect(downloadHttp({ url: server.url, path: 'p', sha256: new Uint8Array(3) })).rejects.toThrow(TypeError);
    await expect(downloadHttp({ url: server.url, path: 'p', sha256: sha(image), maxAttempts: 0 })).rejects.toThrow(RangeError);
  });
});
