// Crash-safe file writes for the CA store: a temporary file in the same directory, fsync,
// then rename (replace) or link (create, never replace), then fsync the directory.

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, link, open, rename, stat, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';

/** Whether `p` exists (other errors than ENOENT are thrown). */
export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Writes a temporary file in the same directory and fsyncs it; returns its path. */
async function writeTemp(path: string, data: string, mode: number): Promise<string> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, mode); // the umask may have narrowed or widened nothing, but be exact
  return tmp;
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Atomic replace: readers see the old file or the new one, never a torn one. */
export async function writeAtomic(path: string, data: string, mode = 0o644): Promise<void> {
  const tmp = await writeTemp(path, data, mode);
  await rename(tmp, path);
  await syncDir(resolve(path, '..'));
}

/** Atomic create: fails with EEXIST rather than replace (link() never overwrites). */
export async function createAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = await writeTemp(path, data, mode);
  try {
    await link(tmp, path);
  } finally {
    await unlink(tmp);
  }
}
