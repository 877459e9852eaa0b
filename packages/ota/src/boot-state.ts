// Boot state: which slot is confirmed, which one is on trial and how many boot attempts it has
// left, the stored security counter, the last accepted sequence number and the versions rolled
// back. One small deterministic-CBOR file with a SHA-256 seal (sealed.ts), replaced atomically
// (write-temp, fsync, rename, fsync dir).
import { join } from 'node:path';
import { decodeDeterministic, encodeCbor, type CborValue } from './cbor.js';
import { OtaError } from './errors.js';
import { atomicWriteFile, type OtaFileSystem } from './fs.js';
import { seal, unseal } from './sealed.js';
import type { SlotName } from './slots.js';

/** The persisted boot state. */
export interface BootState {
  /** The confirmed slot. */
  readonly active: SlotName;
  /** A slot staged for a trial boot, with the boot attempts it has left. */
  readonly trial?: { readonly slot: SlotName; readonly attemptsLeft: number };
  /** Security counter of the confirmed image (MCUboot's stored counter). */
  readonly securityCounter: number;
  /** Highest manifest sequence consumed: the factory image's, then each trial image's at its first verified boot. */
  readonly sequence: number;
  /** Versions rolled back: never installed again. */
  readonly knownBad: readonly string[];
}

/** File name of the boot state in the slot directory. */
export const BOOT_STATE_FILE = 'boot-state.cbor';

/** Encodes boot state. */
export function encodeBootState(s: BootState): Uint8Array {
  const m = new Map<number, CborValue>([[0, 1], [1, s.active], [3, s.securityCounter], [4, s.sequence], [5, [...s.knownBad]]]);
  if (s.trial !== undefined) m.set(2, [s.trial.slot, s.trial.attemptsLeft]);
  return seal(encodeCbor(m));
}

/** Decodes boot state. @throws {OtaError} `MALFORMED`. */
export function decodeBootState(bytes: Uint8Array): BootState {
  const v = decodeDeterministic(unseal(bytes, 'boot state'), 'boot state');
  const bad = (): never => {
    throw new OtaError('MALFORMED', 'boot state: unexpected shape');
  };
  if (!(v instanceof Map) || v.get(0) !== 1) return bad();
  const active = v.get(1);
  const sc = v.get(3);
  const seq = v.get(4);
  const kb = v.get(5);
  const trial = v.get(2);
  if ((active !== 'a' && active !== 'b') || typeof sc !== 'number' || sc < 0 || typeof seq !== 'number' || seq < 0 || !Array.isArray(kb) || !kb.every((x) => typeof x === 'string')) return bad();
  const base: BootState = { active, securityCounter: sc, sequence: seq, knownBad: kb as string[] };
  if (trial === undefined) return base;
  if (!Array.isArray(trial) || (trial[0] !== 'a' && trial[0] !== 'b') || typeof trial[1] !== 'number') return bad();
  return { ...base, trial: { slot: trial[0], attemptsLeft: trial[1] } };
}

/**
 * Reads the boot state from `dir` (the file {@link BOOT_STATE_FILE}), or `undefined` before
 * provisioning.
 *
 * @example
 * ```ts
 * import { BOOT_STATE_FILE, nodeOtaFileSystem, readBootState, type BootState } from '@outpost/ota';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const state: BootState | undefined = await readBootState(nodeOtaFileSystem(), mkdtempSync(join(tmpdir(), 'ota-')));
 * state; // undefined: no BOOT_STATE_FILE yet
 * BOOT_STATE_FILE; // 'boot-state.cbor'
 * ```
 */
export async function readBootState(fs: OtaFileSystem, dir: string): Promise<BootState | undefined> {
  const bytes = await fs.readFile(join(dir, BOOT_STATE_FILE));
  return bytes === undefined ? undefined : decodeBootState(bytes);
}

/** Replaces the boot state atomically. */
export async function writeBootState(fs: OtaFileSystem, dir: string, state: BootState): Promise<void> {
  await atomicWriteFile(fs, join(dir, BOOT_STATE_FILE), encodeBootState(state));
}
