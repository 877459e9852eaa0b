// The reference file server under hostile requests, sent as raw bytes on a TCP socket (no HTTP
// client in between to normalise them): request targets built from traversal pieces (`..`,
// percent-encoded dots and slashes, NUL, backslashes, absolute-form targets), symlinks inside the
// root that point inside and outside it, and Range / If-Range headers from the RFC 9110 §14
// grammar and around it. Checked on every answer:
//   - nothing outside the root is ever sent (a marker file outside it never appears);
//   - 200 carries the whole file the target names inside the root, 206 exactly the slice its
//     Content-Range states (well-formed, within the file), 416 the `bytes */size` form;
//   - no other status than 200, 206, 400, 404, 405, 416; the server still answers afterwards.
import { randomBytes } from 'node:crypto';
import { mkdirSync, realpathSync, symlinkSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve, sep } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '@outpost/test-peers';
import { startFileServer, type FileServer } from '../src/index.js';

const tmp = tempDir('outpost-http-fuzz-');
const root = join(tmp.path, 'www');
const SECRET = 'TOP-SECRET-OUTSIDE-THE-ROOT';
const files = new Map<string, Buffer>();
let server: FileServer;

beforeAll(async () => {
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(tmp.path, 'outside'));
  writeFileSync(join(tmp.path, 'secret.txt'), SECRET.repeat(4));
  writeFileSync(join(tmp.path, 'outside', 'fw.bin'), SECRET);
  for (const [name, bytes] of [['a.bin', randomBytes(1000)], ['empty.bin', Buffer.alloc(0)], ['sub/b.bin', randomBytes(70_000)]] as const) {
    writeFileSync(join(root, name), bytes);
    files.set(join(root, name), Buffer.from(bytes));
  }
  symlinkSync(join(root, 'a.bin'), join(root, 'inside')); // a link that stays in the root: served as a.bin
  symlinkSync(join(tmp.path, 'secret.txt'), join(root, 'sub', 'escape')); // a link out of the root
  symlinkSync(join(tmp.path, 'outside'), join(root, 'dirout')); // a directory link out of the root
  server = await startFileServer({ root });
});
afterAll(async () => {
  await server?.stop();
  tmp.cleanup();
});

interface Answer { status: number; headers: Record<string, string>; body: Buffer }

/** One raw request on its own connection; the answer as sent (Connection: close ends it). */
function raw(target: string, headers: Record<string, string>, method = 'GET'): Promise<Answer> {
  return new Promise((done, fail) => {
    const s = connect(server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('error', fail);
    s.on('close', () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return fail(new Error(`no HTTP head in ${JSON.stringify(all.toString('latin1').slice(0, 100))}`));
      const [statusLine, ...lines] = all.subarray(0, end).toString('latin1').split('\r\n');
      const h: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        h[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      done({ status: Number(statusLine!.split(' ')[1]), headers: h, body: all.subarray(end + 4) });
    });
    const head = Object.entries({ host: 'x', connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    s.write(`${method} ${target} HTTP/1.1\r\n${head}\r\n`);
  });
}

/** The file inside the root a target names (following links the way the OS does), or undefined. */
function fileOf(target: string): Buffer | undefined {
  let name: string;
  try {
    name = decodeURIComponent(new URL(target, 'http://x').pathname);
  } catch {
    return undefined;
  }
  if (name.includes('\0')) return undefined;
  const lexical = resolve(root, `.${name}`);
  if (!lexical.startsWith(root + sep) || !existsSync(lexical)) return undefined;
  const real = realpathSync(lexical);
  if (!real.startsWith(realpathSync(root) + sep) || !statSync(real).isFile()) return undefined;
  return files.get(real);
}

// A target is a real name (a file, a link, a directory) behind a prefix of traversal pieces, with
// some characters percent-encoded, or a random walk of pieces.
const BASES = ['a.bin', 'empty.bin', 'sub/b.bin', 'inside', 'sub/escape', 'dirout/fw.bin', 'sub', 'dirout', '../secret.txt', '../outside/fw.bin', 'sub/../../secret.txt', ''];
const PIECES = ['..', '.', '', 'sub', '%2e%2e', '%2E%2e', '..%2f', '%2f', '%2F..%2F', '%00', '%5c..', '..\\..', '%252e%252e', '%ff', 'inside', 'escape', 'dirout'];
const encodeSome = (t: string, mask: number[]): string => [...t].map((c, i) => ((mask[i % mask.length] ?? 0) % 5 === 0 && c !== '/' ? `%${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c)).join('');
const target = fc.oneof(
  fc.tuple(fc.array(fc.constantFrom('sub/../', './', '/', 'sub/./../', '%2e/', 'dirout/../', '../', '%2e%2e/'), { maxLength: 3 }), fc.constantFrom(...BASES), fc.array(fc.nat(9), { minLength: 1, maxLength: 8 }), fc.constantFrom('', '', '?q=../../', '#frag', '%00', '/', '/.')).map(([pre, base, mask, post]) => `/${encodeSome(pre.join('') + base, mask)}${post}`),
  fc.tuple(fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 6 }), fc.constantFrom(...BASES)).map(([segs, base]) => `/${segs.join('/')}/${base}`),
  fc.constantFrom(...BASES).map((b) => `http://x/${b}`),
);
const num = fc.oneof(fc.nat(80_000), fc.constantFrom(0, 1, 999, 1000, 1001, 69_999, 70_000, 2 ** 53, 2 ** 64), fc.constant('99999999999999999999999'));
const rangeHeader = fc.oneof(
  fc.tuple(num, num).map(([a, b]) => `bytes=${a}-${b}`),
  num.map((n) => `bytes=-${n}`),
  num.map((n) => `bytes=${n}-`),
  fc.tuple(num, num, num, num).map(([a, b, c, d]) => `bytes=${a}-${b},${c}-${d}`),
  fc.constantFrom('bytes=', 'bytes=-', 'bytes=--1', 'bytes=-0', 'bytes=1-0', 'items=0-1', 'bytes = 0-1', 'bytes=0x10-20', 'bytes=+1-2', 'bytes=1e3-', ' bytes=0-9 ', 'bytes=0-9\t'),
);
const ifRange = fc.constantFrom(undefined, 'etag', '"nope"', 'W/"weak"', 'Wed, 21 Oct 2015 07:28:00 GMT');
const method = fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST', 'DELETE');

function checkAnswer(a: Answer, t: string, m: string, hadRange: boolean): void {
  expect(a.body.includes(SECRET), `bytes from outside the root for ${t}`).toBe(false);
  expect([200, 206, 400, 404, 405, 416], `status ${a.status} for ${m} ${t}`).toContain(a.status);
  const file = fileOf(t);
  if (m !== 'GET' && m !== 'HEAD') return expect(a.status).toBe(405);
  if (file === undefined) return expect([400, 404], `${t} names no file in the root, got ${a.status}`).toContain(a.status);
  const body = m === 'HEAD' ? undefined : a.body;
  if (a.status === 200) {
    expect(Number(a.headers['content-length'])).toBe(file.length);
    if (body !== undefined) expect(body.equals(file)).toBe(true);
  } else if (a.status === 206) {
    expect(hadRange).toBe(true);
    const cr = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(a.headers['content-range'] ?? '');
    expect(cr, `Content-Range "${a.headers['content-range']}" for ${t}`).not.toBeNull();
    const [start, end, size] = [Number(cr![1]), Number(cr![2]), Number(cr![3])];
    expect(size).toBe(file.length);
    expect(start <= end && end < size, `range ${start}-${end}/${size}`).toBe(true);
    expect(Number(a.headers['content-length'])).toBe(end - start + 1);
    if (body !== undefined) expect(body.equals(file.subarray(start, end + 1))).toBe(true);
  } else if (a.status === 416) {
    expect(hadRange).toBe(true);
    expect(a.headers['content-range']).toBe(`bytes */${file.length}`);
  } else {
    throw new Error(`status ${a.status} for ${t}, a file in the root`);
  }
}

describe('the file server under hostile requests', () => {
  it('serves only files inside the root, ranges exactly as stated', async () => {
    const etagOf = new Map<string, string>();
    await fc.assert(fc.asyncProperty(target, fc.option(rangeHeader), ifRange, method, async (t, range, ir, m) => {
      const headers: Record<string, string> = {};
      if (range !== null) headers['range'] = range;
      if (ir === 'etag') {
        if (!etagOf.has(t)) etagOf.set(t, (await raw(t, {}, 'HEAD')).headers['etag'] ?? '"none"');
        headers['if-range'] = etagOf.get(t)!;
      } else if (ir !== undefined) headers['if-range'] = ir;
      checkAnswer(await raw(t, headers, m), t, m, range !== null);
    }), { numRuns: 1000, seed: Number(process.env['FUZZ_SEED'] ?? 20261207) });
    // Still serving.
    expect((await raw('/a.bin', {})).body.equals(files.get(join(root, 'a.bin'))!)).toBe(true);
  }, 120_000);

  it('a link out of the root is refused, file or directory; a link inside it is served', async () => {
    expect((await raw('/sub/escape', {})).status).toBe(404);
    expect((await raw('/dirout/fw.bin', {})).status).toBe(404);
    const inside = await raw('/inside', { range: 'bytes=10-19' });
    expect(inside.status).toBe(206);
    expect(inside.body.equals(files.get(join(root, 'a.bin'))!.subarray(10, 20))).toBe(true);
  });

  it('a suffix range on an empty file is answered with the whole (empty) file, not a malformed Content-Range', async () => {
    // RFC 9110 §14.1.1: for a zero-length representation only a suffix range is satisfiable, and
    // there is no byte to name in a Content-Range; the server may ignore the Range (§14.2).
    const a = await raw('/empty.bin', { range: 'bytes=-5' });
    expect(a.status).toBe(200);
    expect(a.headers['content-length']).toBe('0');
    expect(a.headers['content-range']).toBeUndefined();
  });
});
