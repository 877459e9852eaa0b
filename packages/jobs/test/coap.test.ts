// CoAP Block2 download from libcoap's coap-server (a dynamic resource created by PUT: libcoap
// 4.3.1's coap-server has no flag to serve a directory) with the device-sdk CoAP client.
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requireBinary, tempDir } from '@outpost/test-peers';
import { connectCoap, type CoapClient } from '@outpost/device-sdk/coap';
import { downloadCoap, JobsError, type CoapBlockClient } from '../src/index.js';
import { startCoapServer, type CoapServer } from '../../device-sdk/test/fixtures/coap-server.js';

const tmp = tempDir('outpost-coap-');
const image = new Uint8Array(randomBytes(160 * 1024 + 99));
const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
let server: CoapServer;
let client: CoapClient;

/** The device-sdk client, recording the block numbers asked for. */
function recording(asked: number[]): CoapBlockClient {
  return { origin: client.origin, request: (m, p, b, o) => { asked.push(o.block2); return client.request(m, p, b, o); } };
}

/** Replaces a resource with libcoap's own client (the reference for what its server accepts). */
function putWithLibcoap(resource: string, bytes: Uint8Array): void {
  const f = join(tmp.path, 'put.bin');
  writeFileSync(f, bytes);
  const r = spawnSync(requireBinary('coap-client-openssl'), ['-m', 'put', '-b', '1024', '-f', f, `${server.url}${resource}`], { timeout: 20_000 });
  if (r.status !== 0) throw new Error(`coap-client put failed: ${String(r.stderr)}`);
}

beforeAll(async () => {
  server = await startCoapServer({ echo: false, dynamic: 10 });
  client = await connectCoap(server.url, { insecure: true, blockSize: 1024, maxBodySize: 4 << 20 });
  await client.put('/fw', image);
});
afterAll(async () => {
  await client?.close();
  await server?.stop();
  tmp.cleanup();
});

it('downloads a resource block by block and checks its digest', async () => {
  const path = join(tmp.path, 'a.bin');
  const asked: number[] = [];
  const r = await downloadCoap({ coap: recording(asked), resource: '/fw', path, sha256: sha(image) });
  expect(Buffer.compare(readFileSync(path), image)).toBe(0);
  expect(r).toMatchObject({ size: image.length, resumedFrom: 0, restarts: 0, requests: Math.ceil(image.length / 1024) });
  expect(asked.slice(0, 3)).toEqual([0, 1, 2]);
});

it('an interrupted download resumes from the block of its journalled offset', async () => {
  const path = join(tmp.path, 'b.bin');
  const ac = new AbortController();
  const err = await downloadCoap({ coap: client, resource: '/fw', path, sha256: sha(image), journalEveryBytes: 16 * 1024, signal: ac.signal, onProgress: (n) => { if (n >= 70 * 1024) ac.abort(); } }).catch((e: unknown) => e);
  expect((err as JobsError).code).toBe('ABORTED');
  const journal = JSON.parse(readFileSync(`${path}.journal`, 'utf8')) as { offset: number };
  expect(journal.offset).toBeGreaterThanOrEqual(64 * 1024);
  const asked: number[] = [];
  const r = await downloadCoap({ coap: recording(asked), resource: '/fw', path, sha256: sha(image) });
  expect(r.resumedFrom).toBe(journal.offset);
  expect(asked[0]).toBe(journal.offset / 1024);
  expect(asked.length).toBe(Math.ceil(image.length / 1024) - journal.offset / 1024);
  expect(Buffer.compare(readFileSync(path), image)).toBe(0);
});

it('a resource replaced between attempts (new ETag) starts over from block 0 instead of mixing', async () => {
  const path = join(tmp.path, 'c.bin');
  const ac = new AbortController();
  await downloadCoap({ coap: client, resource: '/fw', path, sha256: sha(image), journalEveryBytes: 8 * 1024, signal: ac.signal, onProgress: (n) => { if (n >= 40 * 1024) ac.abort(); } }).catch(() => undefined);
  const resumeAt = (JSON.parse(readFileSync(`${path}.journal`, 'utf8')) as { offset: number }).offset / 1024;
  expect(resumeAt).toBeGreaterThan(0);
  const v2 = new Uint8Array(image);
  v2[0]! ^= 0xff;
  putWithLibcoap('/fw', v2);
  try {
    // The manifest still names the old digest: the new representation is fetched from block 0
    // (not appended to the old prefix) and refused as a whole.
    // A new client (a rebooted device: another UDP port). libcoap keeps serving an ongoing
    // block-wise transfer from its copy of the old body to the same endpoint, consistently.
    const fresh = await connectCoap(server.url, { insecure: true, blockSize: 1024 });
    const asked: number[] = [];
    const coap: CoapBlockClient = { origin: fresh.origin, request: (m, p, b, o) => { asked.push(o.block2); return fresh.request(m, p, b, o); } };
    const err = await downloadCoap({ coap, resource: '/fw', path, sha256: sha(image) }).catch((e: unknown) => e);
    await fresh.close();
    expect((err as JobsError).code).toBe('DIGEST_MISMATCH');
    expect(asked.slice(0, 3)).toEqual([resumeAt, 0, 1]);
  } finally {
    putWithLibcoap('/fw', image);
  }
});

it('a missing resource is a typed error with the CoAP code', async () => {
  const err = await downloadCoap({ coap: client, resource: '/nope', path: join(tmp.path, 'd.bin'), sha256: sha(image) }).catch((e: unknown) => e);
  expect((err as JobsError).code).toBe('BAD_RESPONSE');
  expect((err as JobsError).value).toBe('4.04');
});
