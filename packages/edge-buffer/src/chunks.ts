// How a group of queued records becomes bytes on disk: arena slices (encoded frames, or only the
// frame header of a large record) and callers' payloads, written with one writev when the
// file handle has it.

import type { FileHandle } from './fs.js';

/** A queued record as far as the write is concerned. */
export interface ChunkEntry {
  /**
   * `arena[start, end)` holds the frame (for a segment's first record it starts with the
   * segment header) — or, when `payload` is set, the frame's header only, the payload following
   * on disk from `payload`.
   */
  arena: Uint8Array;
  start: number;
  end: number;
  /** The caller's payload, not copied (see `Writer.enqueue`). */
  payload: Uint8Array | undefined;
}

/** Bytes this record takes on disk (with the segment header when it opens the segment). */
export function entrySize(e: ChunkEntry): number {
  return e.end - e.start + (e.payload === undefined ? 0 : e.payload.length);
}

/** A group's bytes as chunks: contiguous arena slices merged, direct payloads in between. */
export function groupChunks(batch: readonly ChunkEntry[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let arena: Uint8Array | undefined;
  let start = 0;
  let end = 0;
  for (const e of batch) {
    if (e.arena !== arena || e.start !== end) {
      if (arena !== undefined && end > start) chunks.push(arena.subarray(start, end));
      arena = e.arena;
      start = e.start;
    }
    end = e.end;
    if (e.payload !== undefined) {
      chunks.push(arena.subarray(start, end), e.payload);
      start = end;
    }
  }
  if (arena !== undefined && end > start) chunks.push(arena.subarray(start, end));
  return chunks;
}

/**
 * One write for one chunk, one writev for several; in order, one by one, without writev. Not an
 * async function: the common cases add no promise hop to the append path.
 */
export function writeChunks(handle: FileHandle, chunks: Uint8Array[], position: number): Promise<void> {
  if (chunks.length === 1) return handle.write(chunks[0]!, position);
  if (handle.writev !== undefined) return handle.writev(chunks, position);
  return writeOneByOne(handle, chunks, position);
}

async function writeOneByOne(handle: FileHandle, chunks: Uint8Array[], position: number): Promise<void> {
  let pos = position;
  for (const c of chunks) {
    await handle.write(c, pos);
    pos += c.length;
  }
}
