// The slot interface: two slots (A/B), each an image and its signed manifest. `fileSlots` keeps
// them as files (tests, Linux gateways with image files). A block-device adapter implements the
// same interface: `beginWrite` erases the slot's manifest first, streams the image, fsyncs, then
// writes the manifest; reads return what is stored.
import { join } from 'node:path';
import { atomicWriteFile, type OtaFileSystem } from './fs.js';
import { intAtLeast } from './check.js';
import { OtaError } from './errors.js';

/** The two slots. */
export type SlotName = 'a' | 'b';

/** The other slot. */
export const otherSlot = (s: SlotName): SlotName => (s === 'a' ? 'b' : 'a');

/** Writing an image into a slot. */
export interface SlotWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the image durable, then stores `manifest` beside it (atomically). */
  finish(manifest: Uint8Array): Promise<void>;
  /** Gives up; the slot stays without a manifest (not bootable). */
  abort(): Promise<void>;
}

/**
 * Storage for the two slots. An extension point: implement it for a block device (the image at a
 * fixed offset of a partition, the manifest in a small metadata area written atomically).
 *
 * @example
 * ```ts
 * import type { SlotStore } from '@outpost/ota';
 * const describe = (s: SlotStore): string => `slots of ${s.capacity} bytes`;
 * ```
 */
export interface SlotStore {
  /** Largest image a slot holds, bytes. */
  readonly capacity: number;
  readManifest(slot: SlotName): Promise<Uint8Array | undefined>;
  readImage(slot: SlotName): AsyncIterable<Uint8Array>;
  /** Invalidates the slot (its manifest is removed durably first) and opens it for an image. */
  beginWrite(slot: SlotName): Promise<SlotWriter>;
}

/**
 * Slots as files in `dir`: `slot-a.img`, `slot-a.manifest`, `slot-b.img`, `slot-b.manifest`.
 *
 * @example
 * ```ts
 * import { fileSlots, nodeOtaFileSystem, type SlotName, type SlotWriter } from '@outpost/ota';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const slots = fileSlots({ dir: mkdtempSync(join(tmpdir(), 'ota-')), fs: nodeOtaFileSystem(), capacity: 1 << 20 });
 * const slot: SlotName = 'b';
 * const w: SlotWriter = await slots.beginWrite(slot);
 * await w.write(new Uint8Array(16));
 * await w.abort();
 * await slots.readManifest(slot); // undefined: never finished, never bootable
 * ```
 */
export function fileSlots(options: { dir: string; fs: OtaFileSystem; capacity: number; chunkSize?: number }): SlotStore {
  const { dir, fs, capacity } = options;
  if (typeof dir !== 'string') throw new TypeError('dir: expected a string');
  if (!Number.isSafeInteger(capacity) || capacity <= 0) throw new RangeError('capacity: expected a positive integer');
  const chunkSize = intAtLeast(options.chunkSize ?? 1 << 20, 'chunkSize', 1);
  const img = (s: SlotName): string => join(dir, `slot-${s}.img`);
  const man = (s: SlotName): string => join(dir, `slot-${s}.manifest`);
  return {
    capacity,
    readManifest: (s) => fs.readFile(man(s)),
    readImage: (s) => fs.readChunks(img(s), chunkSize),
    async beginWrite(s) {
      await fs.unlink(man(s));
      await fs.syncDir(dir);
      const fh = await fs.openWrite(img(s));
      let written = 0;
      let closed = false;
      return {
        async write(chunk) {
          if (written + chunk.length > capacity) throw new OtaError('IMAGE_TOO_LARGE', `slot ${s}: image exceeds the ${capacity}-byte slot`);
          written += chunk.length;
          await fh.write(chunk);
        },
        async finish(manifest) {
          await fh.sync();
          closed = true;
          await fh.close();
          await fs.syncDir(dir);
          await atomicWriteFile(fs, man(s), manifest);
        },
        async abort() {
          if (!closed) await fh.close();
          closed = true;
        },
      };
    },
  };
}
