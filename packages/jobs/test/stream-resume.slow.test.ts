// Resume after kill -9: a downloader child process is killed mid-download, restarted, and
// completes from its journalled offset with the right digest. Real Mosquitto, a real HTTP
// server, real files.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempDir } from '@outpost/test-peers';
import { startFileServer, startStreamServer, type StreamMqtt, type StreamServer } from '../src/index.js';
import { STREAM_SERVICE, startStreamFleet, type StreamFleet } from './fixtures/stream-fleet.js';
import { startCutProxy } from './fixtures/cut-proxy.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SCRIPT = join(import.meta.dirname, 'fixtures', 'stream-download-proc.ts');
const tmp = tempDir('outpost-resume-');
const image = new Uint8Array(randomBytes(1024 * 1024));
let sf: StreamFleet;
let server: StreamServer;

beforeAll(async () => {
  writeFileSync(join(tmp.path, 'fw.bin'), image);
  sf = await startStreamFleet();
  const svc = await sf.connect(STREAM_SERVICE);
  // The server paces itself (a macrotask between blocks) so that the child is mid-download
  // when it is killed; the pace does not enter any assertion.
  const paced: StreamMqtt = {
    publish: (t, p, o, cb) => new Promise<void>((r) => setImmediate(r)).then(() => svc.publishAsync(t, Buffer.from(p as Uint8Array), { qos: o?.qos ?? 1 })).then(() => cb?.(null), (e: Error) => cb?.(e)),
    subscribe: (f, o, cb) => svc.subscribe(f, { qos: o?.qos ?? 1 }, cb),
    on: (e, l) => svc.on(e, l),
  };
  server = await startStreamServer({ mqtt: paced, streams: { 'fw-big': { files: [{ fileId: 0, path: join(tmp.path, 'fw.bin') }] } } });
});

afterAll(async () => {
  await server?.stop();
  await sf?.stop();
  tmp.cleanup();
});

interface Run { lines: string[]; exit: Promise<number | null>; kill(): void }

async function runChild(cfgPath: string, onLine: (l: string) => void): Promise<Run> {
  const child = spawn(process.execPath, ['--conditions=@outpost/source', '--import', 'tsx', SCRIPT, cfgPath], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(l);
      onLine(l);
    }
  });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => { if (code !== 0 && code !== null) console.error(err); resolve(code); }));
  return { lines, exit, kill: () => child.kill('SIGKILL') };
}

it('a downloader killed with SIGKILL mid-download resumes from its journalled offset and the digest matches', async () => {
  const id = 'dev-resume';
  const c = await sf.fleet.device(id);
  const path = join(tmp.path, 'out.bin');
  const cfgPath = join(tmp.path, 'cfg.json');
  const sha256 = createHash('sha256').update(image).digest('hex');
  writeFileSync(cfgPath, JSON.stringify({ kind: 'mqtt', url: sf.fleet.url, id, cert: c.cert, key: c.key, ca: sf.fleet.ca.certificatePem, streamId: 'fw-big', path, sha256, blockSize: 1024 }));

  // First run: killed once a third of the file was written.
  let first!: Run;
  first = await runChild(cfgPath, (l) => {
    if (l.startsWith('PROGRESS ') && Number(l.slice(9)) >= image.length / 3) first.kill();
  });
  expect(await first.exit).toBe(null); // killed by the signal, not finished
  const journal = JSON.parse(readFileSync(`${path}.journal`, 'utf8')) as { offset: number };
  expect(journal.offset).toBeGreaterThan(0);
  expect(journal.offset).toBeLessThan(image.length);
  expect(statSync(`${path}.part`).size).toBeGreaterThanOrEqual(journal.offset);

  // Second run: resumes from the journal's offset and finishes.
  const second = await runChild(cfgPath, () => undefined);
  expect(await second.exit).toBe(0);
  const done = JSON.parse(second.lines.find((l) => l.startsWith('DONE '))!.slice(5)) as { resumedFrom: number; sha256: string; size: number };
  expect(done.resumedFrom).toBe(journal.offset);
  expect(done.sha256).toBe(sha256);
  expect(Buffer.compare(readFileSync(path), image)).toBe(0);
  // Blocks before the resumed offset were not asked for again.
  const firstProgress = Number(second.lines.find((l) => l.startsWith('PROGRESS '))!.slice(9));
  expect(firstProgress).toBe(journal.offset + 1024);
});

it('an HTTP downloader that SIGKILLs itself mid-download resumes with a Range from its journalled offset', async () => {
  const files = await startFileServer({ root: tmp.path });
  const slow = await startCutProxy(files.port, Number.POSITIVE_INFINITY, 40); // a slow link: journal writes land mid-download
  try {
    const path = join(tmp.path, 'http-out.bin');
    const cfgPath = join(tmp.path, 'http-cfg.json');
    const sha256 = createHash('sha256').update(image).digest('hex');
    const base = { kind: 'http', url: `http://127.0.0.1:${slow.port}/fw.bin`, path, sha256 };
    writeFileSync(cfgPath, JSON.stringify({ ...base, killAt: Math.floor(image.length * 0.9) }));
    const first = await runChild(cfgPath, () => undefined);
    expect(await first.exit).toBe(null); // ended by SIGKILL
    const journal = JSON.parse(readFileSync(`${path}.journal`, 'utf8')) as { offset: number };
    expect(journal.offset).toBeGreaterThan(0);
    expect(journal.offset).toBeLessThan(image.length);

    writeFileSync(cfgPath, JSON.stringify(base));
    const before = files.stats();
    const second = await runChild(cfgPath, () => undefined);
    expect(await second.exit).toBe(0);
    const done = JSON.parse(second.lines.find((l) => l.startsWith('DONE '))!.slice(5)) as { resumedFrom: number; sha256: string; rangeRequests: number };
    expect(done).toMatchObject({ resumedFrom: journal.offset, sha256, rangeRequests: 1 });
    expect(files.stats().bytesSent - before.bytesSent).toBe(image.length - journal.offset);
    expect(Buffer.compare(readFileSync(path), image)).toBe(0);
  } finally {
    await slow.stop();
    await files.stop();
  }
});
