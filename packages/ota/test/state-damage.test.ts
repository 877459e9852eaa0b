// Damaged state files on a device: every bit of the boot state and of the trusted state flipped
// in turn. Each read must give back exactly what was written or fail with MALFORMED — never a
// different state (a lower anti-rollback sequence or security counter, the other slot active, an
// older timestamp floor), which a device would act on without a word.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BOOT_STATE_FILE, createTrustStore, fileControllerStore, generateKeyPair, nodeOtaFileSystem, OtaError, openTrustState, readBootState, type RolloutEvent } from '../src/index.js';
import { encodeBootState, type BootState } from '../src/boot-state.js';
import { encodeCbor, type CborValue } from '../src/cbor.js';
import { AGENT_JOURNAL_FILE, readAgentRecord, writeAgentRecord } from '../src/agent-journal.js';

const dir = mkdtempSync(join(tmpdir(), 'ota-damage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fs = nodeOtaFileSystem();

/** Every single-bit flip of `file`: the outcomes that are neither the original nor MALFORMED. */
async function flips(file: string, read: () => Promise<unknown>, original: string): Promise<string[]> {
  const good = readFileSync(file);
  const changed: string[] = [];
  for (let i = 0; i < good.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const bad = Buffer.from(good);
      bad[i] = bad[i]! ^ (1 << bit);
      writeFileSync(file, bad);
      const got = await read().then((v) => JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x)), (e: unknown) => e);
      if (got instanceof OtaError && got.code === 'MALFORMED') continue;
      if (got instanceof Error) changed.push(`byte ${i} bit ${bit}: ${got.name} ${got.message}`);
      else if (got !== original) changed.push(`byte ${i} bit ${bit}`);
    }
  }
  writeFileSync(file, good);
  return changed;
}

describe('damaged state files', () => {
  it('boot state: every bit flipped reads back unchanged or MALFORMED', async () => {
    const state: BootState = { active: 'a', trial: { slot: 'b', attemptsLeft: 3 }, securityCounter: 7, sequence: 41, knownBad: ['2.0.0'] };
    writeFileSync(join(dir, BOOT_STATE_FILE), encodeBootState(state));
    const original = JSON.stringify(await readBootState(fs, dir));
    expect(JSON.parse(original)).toEqual(state);
    const changed = await flips(join(dir, BOOT_STATE_FILE), () => readBootState(fs, dir), original);
    expect(changed, changed.slice(0, 5).join('; ')).toEqual([]);
  });

  it('trusted state: every bit flipped reads back unchanged or MALFORMED', async () => {
    const path = join(dir, 'trust.cbor');
    const initial = createTrustStore({ rootKeys: [generateKeyPair().publicKey], signingKeys: [generateKeyPair().publicKey] });
    const store = await openTrustState({ fs, path, initial });
    await store.recordTimestamp({ version: 12, issuedAt: 1_800_000_000 });
    const read = async (): Promise<unknown> => (await openTrustState({ fs, path })).current();
    const original = JSON.stringify((await read()), (_k, x: unknown) => (x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x));
    const changed = await flips(path, read, original);
    expect(changed, changed.slice(0, 5).join('; ')).toEqual([]);
  });

  it('agent journal: every bit flipped reads back unchanged or MALFORMED', async () => {
    const rec = {
      step: 'report' as const, version: '2.1.0', attempts: 2, health: { ok: false, reason: 'sensor offline' }, status: 'FAILED' as const,
      details: { reason: 'health check failed', version: '2.1.0' },
      job: { jobId: 'fw-2.1.0', image: 'stream:fw-2.1.0', manifest: Uint8Array.from([0xd2, 0x84, 1, 2, 3]), timestamp: Uint8Array.from([9, 8, 7]) },
    };
    await writeAgentRecord(fs, dir, rec);
    const read = (): Promise<unknown> => readAgentRecord(fs, dir);
    const original = JSON.stringify(await read(), (_k, x: unknown) => (x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x));
    const changed = await flips(join(dir, AGENT_JOURNAL_FILE), read, original);
    expect(changed, changed.slice(0, 5).join('; ')).toEqual([]);
  });

  it('rollout journal: every bit flipped reads back the events written, a reported cut of the last line, or MALFORMED', async () => {
    const path = join(dir, 'rollout.jsonl');
    const events: RolloutEvent[] = [
      { type: 'dispatch', at: 1_000, devices: ['gw-001', 'gw-002', 'gw-003'] },
      { type: 'report', at: 2_000, device: 'gw-001', status: 'confirmed' },
      { type: 'report', at: 2_500, device: 'gw-002', status: 'failed', details: { reason: 'health check' } },
      { type: 'pause', at: 3_000 },
      { type: 'report', at: 3_500, device: 'gw-003', status: 'rolled-back' },
    ];
    const w = fileControllerStore(path, { fs });
    for (const e of events) await w.append(e);
    const good = readFileSync(path);
    const all = JSON.stringify(events);
    const changed: string[] = [];
    for (let i = 0; i < good.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = Buffer.from(good);
        bad[i] = bad[i]! ^ (1 << bit);
        writeFileSync(path, bad);
        let cut = 0;
        const got = await fileControllerStore(path, { fs, onRepair: (n) => { cut += n; } }).load().then((v) => JSON.stringify(v), (e: unknown) => e);
        if (got instanceof OtaError && got.code === 'MALFORMED') continue;
        if (got === all) continue;
        // A damaged last line may be cut as a tear (a flipped newline merges it with the one before),
        // but only when the store says so, and what is left is a prefix of what was written.
        if (cut > 0 && [1, 2].some((k) => got === JSON.stringify(events.slice(0, -k)))) continue;
        changed.push(`byte ${i} bit ${bit}`);
      }
    }
    writeFileSync(path, good);
    expect(changed.length, `flips read back as other events: ${changed.slice(0, 5).join('; ')}`).toBe(0);
  }, 60_000);

  it('a boot state written before the seal (the bare CBOR) is still read', async () => {
    const legacy = encodeCbor(new Map<number, CborValue>([[0, 1], [1, 'b'], [3, 2], [4, 9], [5, []]]));
    writeFileSync(join(dir, BOOT_STATE_FILE), legacy);
    expect(await readBootState(fs, dir)).toEqual({ active: 'b', securityCounter: 2, sequence: 9, knownBad: [] });
  });
});
