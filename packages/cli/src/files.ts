import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { CliError } from './command.js';

/** Creates a file that must not exist yet (a private key is never overwritten), and syncs it. */
export async function writeNew(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  let fh;
  try {
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
