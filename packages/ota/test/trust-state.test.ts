// The persisted trusted state (root, timestamp floor) through the crash-tested file layer: a power
// cut at every file operation of a sequence of updates leaves, after the reboot, the last
// acknowledged state or the one in flight, never an older one (no rollback of any role's version)
// and never a mix. SimFS is the slot manager's crash simulator.
import { describe, expect, it } from 'vitest';
import {
  applyKeySetUpdate, generateKeyPair, openTrustState, OtaError, signKeySet, signRoot, trustFromRoot, memoryOtaFileSystem,
  type KeyPair, type RootMetadata, type TrustedState,
} from '../src/index.js';
import { SimFS, type CrashModel } from './helpers/sim-fs.js';

const key = (n: number): KeyPair => generateKeyPair(new Uint8Array(32).fill(n));
const [R1, R2, T1, S1, S2] = [key(71), key(72), key(73), key(74), key(75)];
const PATH = '/t/trust.cbor';
const role = (...k: KeyPair[]): { keys: Uint8Array[]; threshold: number } => ({ keys: k.map((x) => x.publicKey), threshold: 1 });
const ROOT: RootMetadata = { version: 1, expiresAt: 2_000_000_000, root: role(R1), targets: role(T1), timestamp: role(S1) };
const INITIAL = trustFromRoot(signRoot(ROOT, [R1]));
const V2 = signRoot({ ...ROOT, version: 2, root: role(R2) }, [R1, R2]);
const V3 = signRoot({ ...ROOT, version: 3, root: role(R2), timestamp: role(S2) }, [R2]);
const KEYSET = signKeySet({ version: 1, signingKeys: [T1.publicKey], revoked: [] }, R2);

/** A fingerprint of a state: what must never go backwards. */
const mark = (s: TrustedState): string => `root v${s.trust.roles?.rootVersion} ks${s.trust.keySetVersion} ts${s.timestampVersion}@${s.timeFloor}`;

async function workload(fs: SimFS, acked: string[]): Promise<void> {
  const store = await openTrustState({ fs, path: PATH, initial: INITIAL });
  acked.push(mark(store.current()));
  await store.recordTimestamp({ version: 4, issuedAt: 100 });
  acked.push(mark(store.current()));
  await store.updateRoot([V2]);
  acked.push(mark(store.current()));
  await store.applyKeySet(KEYSET);
  acked.push(mark(store.current()));
  await store.updateRoot([V3]); // rotates the timestamp keys: the floor starts over
  acked.push(mark(store.current()));
  await store.recordTimestamp({ version: 2, issuedAt: 200 });
  acked.push(mark(store.current()));
}

const EXPECTED = ['root v1 ks0 ts0@0', 'root v1 ks0 ts4@100', 'root v2 ks0 ts4@100', 'root v2 ks1 ts4@100', 'root v3 ks1 ts0@100', 'root v3 ks1 ts2@200'];

describe('trusted state', () => {
  it('walks the workload; a lower timestamp is refused; no file and no initial is BAD_STATE; damage is MALFORMED', async () => {
    const fs = new SimFS();
    const acked: string[] = [];
    await workload(fs, acked);
    expect(acked).toEqual(EXPECTED);
    const again = await openTrustState({ fs: fs.crashImage('strict'), path: PATH });
    expect(mark(again.current())).toBe(EXPECTED[5]);
    await expect(again.recordTimestamp({ version: 1, issuedAt: 300 })).rejects.toMatchObject({ code: 'ROLE_ROLLBACK' });
    await expect(again.updateRoot([V2])).rejects.toMatchObject({ code: 'ROLE_ROLLBACK' });
    await expect(openTrustState({ fs: memoryOtaFileSystem(), path: PATH })).rejects.toMatchObject({ code: 'BAD_STATE' });
    const damaged = memoryOtaFileSystem();
    const h = await damaged.openWrite(PATH);
    await h.write(new Uint8Array([0xa1, 0x00]));
    await expect(openTrustState({ fs: damaged, path: PATH })).rejects.toBeInstanceOf(OtaError);
    expect(() => applyKeySetUpdate(INITIAL, KEYSET)).toThrow(OtaError); // R2 is not a root key of v1
  });

  for (const model of ['strict', 'eager-metadata', 'torn'] as const satisfies readonly CrashModel[]) {
    it(`${model}: a power cut at every file operation keeps the acknowledged state or the one in flight`, async () => {
      const total = new SimFS();
      await workload(total, []);
      let points = 0;
      for (let k = 1; k <= total.ops; k++) {
        const fs = new SimFS();
        fs.crashAt = k;
        const acked: string[] = [];
        await workload(fs, acked).catch(() => undefined);
        const img = fs.crashImage(model);
        if (acked.length === 0) {
          // Cut before the first state was durable: there is none, or the initial one.
          const s = await openTrustState({ fs: img, path: PATH, initial: INITIAL });
          expect(mark(s.current())).toBe(EXPECTED[0]);
        } else {
          const found = mark((await openTrustState({ fs: img, path: PATH })).current());
          expect([EXPECTED[acked.length - 1], EXPECTED[acked.length]], `cut at op ${k}`).toContain(found);
        }
        points++;
      }
      expect(points).toBeGreaterThan(20);
    });
  }
});
