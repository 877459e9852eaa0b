import { constants } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CliError } from './command.js';

/**
 * Creates a file that must not exist yet (a private key is never overwritten), and syncs it.
 * Missing parent directories are created (mode 0700: they may hold keys).
 */
export async function writeNew(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  let fh;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError('FILE_EXISTS', `${path} exists; refusing to overwrite it (choose another --out)`);
    throw err;
  }
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** What {@link readCapped} reads and how it names a refusal. */
export interface CappedRead {
  /** Largest accepted size, bytes. */
  readonly cap: number;
  /** What the file is, for messages ("manifest", "trust file"). */
  readonly what: string;
  /** CliError code when the file is larger than `cap`. Default `FILE_TOO_LARGE`. */
  readonly tooLargeCode?: string;
  /** CliError code when the file is missing or unreadable. Default `FILE_NOT_FOUND`. */
  readonly notFoundCode?: string;
}

/**
 * Reads a whole file of at most `cap` bytes. It reads sequentially and stops at byte cap + 1, so
 * a device (`/dev/zero`), a FIFO or a growing file ends the read instead of filling memory: a
 * file over the cap fails before anything parses it.
 *
 * @throws {CliError} `FILE_NOT_FOUND` (missing or unreadable), `tooLargeCode` (over the cap); exit 1.
 */
export async function readCapped(path: string, o: CappedRead): Promise<Uint8Array> {
  const unreadable = (err: unknown): CliError => new CliError(o.notFoundCode ?? 'FILE_NOT_FOUND', `${o.what} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw unreadable(err);
  }
  const buf = new Uint8Array(o.cap + 1);
  let n = 0;
  try {
    for (;;) {
      // position null: the file's own offset, which FIFOs and character devices need (no pread).
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > o.cap) throw new CliError(o.tooLargeCode ?? 'FILE_TOO_LARGE', `${o.what} ${path}: larger than the ${o.cap}-byte limit`);
    }
  } catch (err) {
    throw err instanceof CliError ? err : unreadable(err);
  } finally {
    await fh.close();
  }
  return buf.subarray(0, n);
}

/** Largest certificate, key, CA bundle or config file the commands read: 1 MiB. */
export const MAX_TEXT_FILE_BYTES = 1 << 20;

/**
 * Reads a text file a flag or a config field names (PEM, JSON), capped at
 * {@link MAX_TEXT_FILE_BYTES}: `/dev/zero` or a FIFO in its place is `FILE_TOO_LARGE`, not a hang.
 *
 * @throws {CliError} `FILE_NOT_FOUND` (or `notFoundCode`), `FILE_TOO_LARGE`; exit 1.
 */
export async function readTextFile(path: string, what: string, notFoundCode?: string): Promise<string> {
  const bytes = await readCapped(path, { cap: MAX_TEXT_FILE_BYTES, what, ...(notFoundCode === undefined ? {} : { notFoundCode }) });
  return new TextDecoder().decode(bytes);
}
