// The device's trusted TUF state on disk: the current trust (root, targets and timestamp roles,
// revocations) and the highest timestamp version and issue time seen. One deterministic-CBOR file
// replaced atomically through the crash-tested file layer (write-temp, fsync, rename, fsync dir),
// so a power cut leaves the old state or the new one. Versions only go up.
//
// File: {0: 1, 1: trust store (encodeTrustStore), 2: timestampVersion, 3: timeFloor}
import { compareBytes, decodeDeterministic, encodeCbor, type CborValue } from './cbor.js';
import { OtaError } from './errors.js';
import { atomicWriteFile, type OtaFileSystem } from './fs.js';
import { applyKeySetUpdate, decodeTrustStore, encodeTrustStore, roleOf, type TrustStore } from './keyset.js';
import { seal, unseal } from './sealed.js';
import { applyRootUpdate, type RootOptions } from './roles.js';

/** What a device has verified so far. */
export interface TrustedState {
  readonly trust: TrustStore;
  /**
   * Highest timestamp version accepted. Reset to 0 when a root update changes the timestamp role's
   * keys or threshold (TUF 5.3.11): that is how a fleet recovers from a fast-forward attack by a
   * compromised timestamp key.
   */
  readonly timestampVersion: number;
  /** Highest `issuedAt` of an accepted timestamp: the time floor of a device without a clock. */
  readonly timeFloor: number;
}

/** The persisted trusted state. Create with {@link openTrustState}. */
export interface TrustStateStore {
  current(): TrustedState;
  /**
   * Applies root documents in order (N+1, N+2, …; see `applyRootUpdate`), persisting after each,
   * so a device several versions behind walks the chain and a cut keeps every step already made.
   */
  updateRoot(chain: readonly Uint8Array[], options?: RootOptions): Promise<TrustStore>;
  /** Applies a signed key-set update (root threshold) and persists it. */
  applyKeySet(bytes: Uint8Array): Promise<TrustStore>;
  /** Persists a verified timestamp's version and issue time. @throws {OtaError} `ROLE_ROLLBACK` below the stored version. */
  recordTimestamp(t: { readonly version: number; readonly issuedAt: number }): Promise<void>;
}

/** Options of {@link openTrustState}. */
export interface TrustStateOptions {
  readonly fs: OtaFileSystem;
  /** The state file (absolute). */
  readonly path: string;
  /** Written when the file does not exist yet (the factory trust); ignored otherwise. */
  readonly initial?: TrustStore;
}

function encodeState(s: TrustedState): Uint8Array {
  return seal(encodeCbor(new Map<number, CborValue>([[0, 1], [1, encodeTrustStore(s.trust)], [2, s.timestampVersion], [3, s.timeFloor]])));
}

function decodeState(bytes: Uint8Array): TrustedState {
  const v = decodeDeterministic(unseal(bytes, 'trusted state'), 'trusted state');
  if (!(v instanceof Map) || v.get(0) !== 1 || !(v.get(1) instanceof Uint8Array) || typeof v.get(2) !== 'number' || typeof v.get(3) !== 'number') {
    throw new OtaError('MALFORMED', 'trusted state: unexpected shape');
  }
  return { trust: decodeTrustStore(v.get(1) as Uint8Array), timestampVersion: v.get(2) as number, timeFloor: v.get(3) as number };
}

const sameRole = (a: TrustStore, b: TrustStore): boolean => {
  const ra = roleOf(a, 'timestamp');
  const rb = roleOf(b, 'timestamp');
  return ra.threshold === rb.threshold && ra.keys.length === rb.keys.length && ra.keys.every((k, i) => compareBytes(k, rb.keys[i] as Uint8Array) === 0);
};

/**
 * Opens the trusted state at `path`, writing `initial` when there is none yet.
 *
 * @throws {OtaError} `BAD_STATE` with no file and no `initial`; `MALFORMED` for a damaged file.
 * @example
 * ```ts
 * import { createTrustStore, generateKeyPair, nodeOtaFileSystem, openTrustState, type TrustedState, type TrustStateOptions, type TrustStateStore } from '@outpost/ota';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const path = join(mkdtempSync(join(tmpdir(), 'ota-')), 'trust.cbor');
 * const initial = createTrustStore({ rootKeys: [generateKeyPair().publicKey], signingKeys: [generateKeyPair().publicKey] });
 * const options: TrustStateOptions = { fs: nodeOtaFileSystem(), path, initial };
 * const store: TrustStateStore = await openTrustState(options);
 * await store.recordTimestamp({ version: 3, issuedAt: 1_800_000_000 });
 * const after: TrustedState = (await openTrustState({ fs: nodeOtaFileSystem(), path })).current();
 * after.timestampVersion; // 3
 * ```
 */
export async function openTrustState(options: TrustStateOptions): Promise<TrustStateStore> {
  if (typeof options !== 'object' || options === null || typeof options.path !== 'string') throw new TypeError('options: expected { fs, path }');
  const { fs, path } = options;
  const bytes = await fs.readFile(path);
  let state: TrustedState;
  if (bytes !== undefined) state = decodeState(bytes);
  else if (options.initial !== undefined) {
    state = { trust: options.initial, timestampVersion: 0, timeFloor: 0 };
    await atomicWriteFile(fs, path, encodeState(state));
  } else throw new OtaError('BAD_STATE', `${path}: no trusted state; provision the device with its initial trust`);
  const save = async (next: TrustedState): Promise<void> => {
    await atomicWriteFile(fs, path, encodeState(next));
    state = next;
  };
  return {
    current: () => state,
    async updateRoot(chain, rootOptions = {}) {
      if (!Array.isArray(chain)) throw new TypeError('chain: expected an array of root documents');
      for (const doc of chain) {
        const trust = applyRootUpdate(state.trust, doc, rootOptions);
        await save({ ...state, trust, timestampVersion: sameRole(state.trust, trust) ? state.timestampVersion : 0 });
      }
      return state.trust;
    },
    async applyKeySet(doc) {
      const trust = applyKeySetUpdate(state.trust, doc);
      await save({ ...state, trust });
      return trust;
    },
    async recordTimestamp(t) {
      if (!Number.isSafeInteger(t.version) || t.version < 0 || !Number.isSafeInteger(t.issuedAt) || t.issuedAt < 0) throw new RangeError('timestamp: version and issuedAt must be unsigned integers');
      if (t.version < state.timestampVersion) throw new OtaError('ROLE_ROLLBACK', `timestamp: version ${t.version} is below the stored ${state.timestampVersion}`);
      if (t.version === state.timestampVersion && t.issuedAt <= state.timeFloor) return;
      await save({ ...state, timestampVersion: t.version, timeFloor: Math.max(state.timeFloor, t.issuedAt) });
    },
  };
}
