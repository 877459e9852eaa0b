// The secure-boot check, modelled: what a bootloader verifies before it jumps into a slot.
import { createHash } from 'node:crypto';
import { intAtLeast } from './check.js';
import { bytesEqual } from './cose.js';
import { OtaError, type OtaErrorCode } from './errors.js';
import { toHex } from './keys.js';
import type { TrustStore } from './keyset.js';
import type { Manifest } from './manifest.js';
import type { SlotName, SlotStore } from './slots.js';
import { checkSignedManifest, DEFAULT_MAX_MANIFEST_BYTES } from './verify.js';

/**
 * What the bootloader trusts. On real hardware the root keys sit in ROM or fuses and the counter
 * in one-time-programmable or replay-protected storage; here they live wherever the integrator
 * keeps them.
 */
export interface RootOfTrust {
  readonly trust: TrustStore;
  /** The stored security counter; images below it do not boot. */
  readonly securityCounter: number;
  /** When set, the manifest's device class must match. */
  readonly deviceClass?: string;
}

/** Outcome of {@link verifyBoot}. */
export type BootCheck =
  | { readonly ok: true; readonly manifest: Manifest }
  | { readonly ok: false; readonly code: OtaErrorCode; readonly message: string };

/**
 * Verifies a slot before it runs: the manifest's signature against the trusted keys, the device
 * class, the security counter against the stored one, and the SHA-256 and size of the image.
 * Returns a refusal as a value; throws only for bad arguments (`RangeError` for a NaN, negative or
 * fractional counter).
 *
 * @example
 * ```ts
 * import { createTrustStore, fileSlots, generateKeyPair, nodeOtaFileSystem, verifyBoot, type BootCheck, type RootOfTrust } from '@outpost/ota';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const slots = fileSlots({ dir: mkdtempSync(join(tmpdir(), 'ota-')), fs: nodeOtaFileSystem(), capacity: 1024 });
 * const root: RootOfTrust = { trust: createTrustStore({ signingKeys: [generateKeyPair().publicKey] }), securityCounter: 0 };
 * const check: BootCheck = await verifyBoot(slots, 'a', root);
 * check.ok ? 'boot' : check.code; // 'NO_VALID_SLOT': the slot is empty
 * ```
 */
export async function verifyBoot(slots: SlotStore, slot: SlotName, root: RootOfTrust): Promise<BootCheck> {
  if (typeof root !== 'object' || root === null) throw new TypeError('root: expected a RootOfTrust');
  intAtLeast(root.securityCounter, 'root.securityCounter', 0); // a NaN counter would let any image boot
  try {
    const bytes = await slots.readManifest(slot);
    if (bytes === undefined) throw new OtaError('NO_VALID_SLOT', `slot ${slot}: no manifest`);
    const { manifest: m } = checkSignedManifest(bytes, root.trust, DEFAULT_MAX_MANIFEST_BYTES);
    if (root.deviceClass !== undefined && m.deviceClass !== root.deviceClass) throw new OtaError('WRONG_DEVICE_CLASS', `slot ${slot}: image for "${m.deviceClass}"`);
    if (m.securityCounter < root.securityCounter) throw new OtaError('SECURITY_COUNTER', `slot ${slot}: security counter ${m.securityCounter} is below the stored ${root.securityCounter}`);
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of slots.readImage(slot)) {
      size += chunk.length;
      if (size > m.imageSize) throw new OtaError('IMAGE_TOO_LONG', `slot ${slot}: image longer than the declared ${m.imageSize} bytes`);
      hash.update(chunk);
    }
    if (size < m.imageSize) throw new OtaError('IMAGE_TRUNCATED', `slot ${slot}: image has ${size} of ${m.imageSize} bytes`);
    const digest = new Uint8Array(hash.digest());
    if (!bytesEqual(digest, m.imageDigest)) throw new OtaError('DIGEST_MISMATCH', `slot ${slot}: SHA-256 ${toHex(digest)} does not match the manifest`);
    return { ok: true, manifest: m };
  } catch (err) {
    if (err instanceof OtaError) return { ok: false, code: err.code, message: err.message };
    return { ok: false, code: 'IO_ERROR', message: `slot ${slot}: ${(err as Error).message}` };
  }
}
