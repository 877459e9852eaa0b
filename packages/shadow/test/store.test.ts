// Stores: one contract run against the memory store and the file store; the file store also
// survives reopening, skips torn temp files and reports corrupt files as STORE_CORRUPT.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '@outpost/test-peers';
import { encodeJson } from '../src/cbor.js';
import { applyUpdate, MemoryShadowStore, openFileShadowStore, ShadowError, type ShadowStore } from '../src/index.js';

const tmp = tempDir('outpost-shadow-store-');
afterAll(() => tmp.cleanup());
let n = 0;

const backends: Array<[string, () => Promise<ShadowStore>]> = [
  ['memory', async () => new MemoryShadowStore()],
  ['file', () => openFileShadowStore({ dir: join(tmp.path, `s${++n}`) })],
];

for (const [name, open] of backends) {
  describe(`${name} store contract`, () => {
    it('get of a missing shadow is undefined; put then get returns an equal copy', async () => {
      const s = await open();
      expect(await s.get({ thingName: 'a' })).toBeUndefined();
      const rec = applyUpdate(undefined, JSON.parse('{"state":{"desired":{"__proto__":{"x":1},"arr":[1,"b",true]},"reported":{"n":null}}}') as unknown, { timestamp: 5 }).record;
      await s.put({ thingName: 'a' }, rec);
      const back = await s.get({ thingName: 'a' });
      expect(back).toEqual(rec);
      expect(Object.keys(back!.state.desired!)).toEqual(['__proto__', 'arr']);
      back!.version = 99; // a copy: changing it does not change the store
      expect((await s.get({ thingName: 'a' }))!.version).toBe(1);
      await s.close();
    });

    it('classic and named shadows are separate keys; list shows both', async () => {
      const s = await open();
      const r = applyUpdate(undefined, { state: { desired: { a: 1 } } }, { timestamp: 1 }).record;
      await s.put({ thingName: 't' }, r);
      await s.put({ thingName: 't', shadowName: 'cfg' }, { ...r, version: 7 });
      expect((await s.get({ thingName: 't', shadowName: 'cfg' }))!.version).toBe(7);
      expect((await s.get({ thingName: 't' }))!.version).toBe(1);
      expect(await s.list()).toEqual(expect.arrayContaining([{ thingName: 't' }, { thingName: 't', shadowName: 'cfg' }]));
      await expect(s.get({ thingName: 'bad/name' })).rejects.toThrow(RangeError);
      await s.close();
    });
  });
}

describe('file store durability', () => {
  it('documents survive reopening; temp files left by a crash are removed; nothing else is left behind', async () => {
    const dir = join(tmp.path, 'durable');
    const s1 = await openFileShadowStore({ dir });
    const r = applyUpdate(undefined, { state: { reported: { on: true } } }, { timestamp: 1 }).record;
    await s1.put({ thingName: 'lamp' }, r);
    await s1.put({ thingName: 'lamp' }, { ...r, version: 2 });
    await s1.close();
    writeFileSync(join(dir, 'lamp.shadow.tmp-123-1'), 'torn');
    const s2 = await openFileShadowStore({ dir });
    expect((await s2.get({ thingName: 'lamp' }))!.version).toBe(2);
    expect(readdirSync(dir)).toEqual(['lamp.shadow']);
    await s2.close();
  });

  it('damage: every byte of a stored file flipped — each read is the record as written or STORE_CORRUPT, never a changed record', async () => {
    const dir = join(tmp.path, 'damage');
    const s = await openFileShadowStore({ dir, fsync: false });
    const record = {
      state: { desired: { led: 'on', rate: 60, cfg: { mode: 'eco', list: [1, 2, 3] } }, reported: { led: 'off', fw: '1.2.3' } },
      metadata: { desired: { led: { timestamp: 1_700_000_000 } }, reported: { fw: { timestamp: 1_700_000_001 } } },
      version: 17, timestamp: 1_700_000_002,
    };
    await s.put({ thingName: 'dmg' }, record);
    await s.close();
    const file = join(dir, 'dmg.shadow');
    const good = readFileSync(file);
    const changed: string[] = [];
    for (let i = 0; i < good.length; i++) {
      for (const mask of [0x01, 0x20, 0x80]) {
        const bad = Buffer.from(good);
        bad[i] = bad[i]! ^ mask;
        writeFileSync(file, bad);
        const r = await openFileShadowStore({ dir, fsync: false });
        const got = await r.get({ thingName: 'dmg' }).then((v) => v, (e: unknown) => e);
        await r.close();
        if (got instanceof ShadowError) expect(got.code).toBe('STORE_CORRUPT');
        else if (JSON.stringify(got) !== JSON.stringify(record)) changed.push(`byte ${i} ^ 0x${mask.toString(16)}`);
      }
    }
    expect(changed, 'flips read back as a different record').toEqual([]);
    writeFileSync(file, good);
  });

  it('a format-1 file (written before the checksum) is still read, and the next put writes format 2', async () => {
    const dir = join(tmp.path, 'format1');
    mkdirSync(dir);
    const record = { state: { reported: { fw: '1.0' } }, metadata: { reported: { fw: { timestamp: 1 } } }, version: 3, timestamp: 1 };
    writeFileSync(join(dir, 'old.shadow'), encodeJson({ format: 1, record }));
    const s = await openFileShadowStore({ dir, fsync: false });
    expect(await s.get({ thingName: 'old' })).toEqual(record);
    await s.put({ thingName: 'old' }, { ...record, version: 4 });
    expect(readFileSync(join(dir, 'old.shadow')).subarray(0, 5)).toEqual(Buffer.from('OSHD\x02', 'latin1'));
    await s.close();
  });

  it('a corrupt file is STORE_CORRUPT, not a crash', async () => {
    const dir = join(tmp.path, 'corrupt');
    const s = await openFileShadowStore({ dir });
    writeFileSync(join(dir, 'x.shadow'), new Uint8Array([0xff, 0x00, 0x13]));
    writeFileSync(join(dir, 'y.shadow'), new Uint8Array([0x01]));
    await expect(s.get({ thingName: 'x' })).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    await expect(s.get({ thingName: 'y' })).rejects.toBeInstanceOf(ShadowError);
    await s.close();
  });
});
