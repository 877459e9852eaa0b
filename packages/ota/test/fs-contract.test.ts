// One contract, three OtaFileSystem implementations: node:fs, in memory, and the crash simulator
// (whose power-loss behaviour the crash-point test relies on).
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atomicWriteFile, memoryOtaFileSystem, nodeOtaFileSystem, type OtaFileSystem } from '../src/index.js';
import { SimFS } from './helpers/sim-fs.js';

const backends: Array<[string, () => { fs: OtaFileSystem; dir: string }]> = [
  ['node:fs', () => ({ fs: nodeOtaFileSystem(), dir: mkdtempSync(join(tmpdir(), 'ota-fs-')) })],
  ['memory', () => ({ fs: memoryOtaFileSystem(), dir: '/m' })],
  ['SimFS', () => ({ fs: new SimFS(), dir: '/s' })],
];

describe.each(backends)('%s', (_name, make) => {
  it('reads back what was written, in chunks too; missing files are undefined / empty', async () => {
    const { fs, dir } = make();
    await fs.mkdir(dir);
    const p = join(dir, 'f');
    expect(await fs.readFile(p)).toBeUndefined();
    const none: Uint8Array[] = [];
    for await (const c of fs.readChunks(p, 4)) none.push(c);
    expect(none).toEqual([]);
    const fh = await fs.openWrite(p);
    await fh.write(Uint8Array.of(1, 2, 3));
    await fh.write(Uint8Array.of(4, 5, 6, 7));
    await fh.sync();
    await fh.close();
    expect([...(await fs.readFile(p))!]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const sizes: number[] = [];
    for await (const c of fs.readChunks(p, 3)) sizes.push(c.length);
    expect(sizes).toEqual([3, 3, 1]);
    // openWrite truncates
    const again = await fs.openWrite(p);
    await again.write(Uint8Array.of(9));
    await again.close();
    expect([...(await fs.readFile(p))!]).toEqual([9]);
  });
  it('openAppend creates a missing file and appends to an existing one', async () => {
    const { fs, dir } = make();
    await fs.mkdir(dir);
    const p = join(dir, 'log');
    for (const bytes of [[1, 2], [3]]) {
      const fh = await fs.openAppend(p);
      await fh.write(Uint8Array.from(bytes));
      await fh.sync();
      await fh.close();
    }
    expect([...(await fs.readFile(p))!]).toEqual([1, 2, 3]);
  });
  it('rename replaces the target; unlink of a missing file is fine; atomicWriteFile leaves no temp file', async () => {
    const { fs, dir } = make();
    await fs.mkdir(dir);
    await atomicWriteFile(fs, join(dir, 'a'), Uint8Array.of(1));
    await atomicWriteFile(fs, join(dir, 'a'), Uint8Array.of(2));
    expect([...(await fs.readFile(join(dir, 'a')))!]).toEqual([2]);
    expect(await fs.readFile(join(dir, 'a.tmp'))).toBeUndefined();
    await atomicWriteFile(fs, join(dir, 'b'), Uint8Array.of(3));
    await fs.rename(join(dir, 'b'), join(dir, 'a'));
    expect([...(await fs.readFile(join(dir, 'a')))!]).toEqual([3]);
    expect(await fs.readFile(join(dir, 'b'))).toBeUndefined();
    await fs.unlink(join(dir, 'b'));
    await fs.syncDir(dir);
    await expect(fs.rename(join(dir, 'nope'), join(dir, 'x'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('SimFS power-loss model', () => {
  it('unsynced data and unsynced directory entries are lost; synced ones survive', async () => {
    const fs = new SimFS();
    const f = await fs.openWrite('/d/x');
    await f.write(Uint8Array.of(1));
    await f.sync();
    await f.write(Uint8Array.of(2));
    expect(await fs.crashImage().readFile('/d/x')).toBeUndefined(); // entry not durable
    await fs.syncDir('/d');
    expect([...(await fs.crashImage().readFile('/d/x'))!]).toEqual([1]); // only the synced byte
    expect([...(await fs.crashImage('eager-metadata').readFile('/d/x'))!]).toEqual([1]);
    await fs.rename('/d/x', '/d/y');
    expect(await fs.crashImage().readFile('/d/y')).toBeUndefined();
    expect(await fs.crashImage('eager-metadata').readFile('/d/y')).toBeDefined();
  });
  it("'torn' keeps the first half of the unsynced bytes appended to a file", async () => {
    const fs = new SimFS();
    const f = await fs.openAppend('/d/j');
    await f.write(Uint8Array.of(1, 2));
    await f.sync();
    await fs.syncDir('/d');
    await f.write(Uint8Array.of(3, 4, 5, 6));
    expect([...(await fs.crashImage('torn').readFile('/d/j'))!]).toEqual([1, 2, 3, 4]);
    expect([...(await fs.crashImage('strict').readFile('/d/j'))!]).toEqual([1, 2]);
  });
});
