// One simulated device for the OTA agent tests: real files in a directory, a file-backed job source
// and a file-copying downloader. These two are fakes (the @outpost/jobs client and the stream /
// HTTP-range / CoAP downloaders arrive from other work and are wired in by the application); the
// slot manager, the trusted state, the journal and the files are the real ones.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createOtaAgent, generateKeyPair, nodeOtaFileSystem, openSlotManager, openTrustState, signManifest, signRoot, signTimestamp, trustFromRoot,
  type AgentEvent, type Booted, type Clock, type OtaAgent, type OtaDownloader, type OtaJobSource, type SlotManager,
} from '../../src/index.js';
import { makeImage, sha256 } from './release.js';

const root = generateKeyPair(new Uint8Array(32).fill(61));
const release = generateKeyPair(new Uint8Array(32).fill(62));
const stamp = generateKeyPair(new Uint8Array(32).fill(63));
const root2 = generateKeyPair(new Uint8Array(32).fill(64));
const stamp2 = generateKeyPair(new Uint8Array(32).fill(65));
const DEVICE = { deviceClass: 'gw-1', vendor: 'acme' };
const CAPACITY = 1 << 20;

interface JobRow { jobId: string; manifest: string; image: string; timestamp: string; status: string; roots?: string[] }
interface JobsFile { jobs: JobRow[]; log: Array<{ jobId: string; status: string; details: Record<string, string>; repeat?: true }> }

const writeJson = (path: string, v: unknown): void => {
  writeFileSync(`${path}.tmp`, JSON.stringify(v));
  renameSync(`${path}.tmp`, path);
};
export const readJobs = (dir: string): JobsFile => JSON.parse(readFileSync(join(dir, 'jobs.json'), 'utf8')) as JobsFile;
export const downloadStarts = (dir: string): number[] => (existsSync(join(dir, 'downloads.log')) ? readFileSync(join(dir, 'downloads.log'), 'utf8').trim().split('\n').map(Number) : []);

/** Provisions a device with 1.0.0 and queues one job for 1.1.0 (a 256 KiB image) with a fresh timestamp. */
export async function prepareDevice(dir: string): Promise<{ image: Uint8Array }> {
  const fs = nodeOtaFileSystem();
  const nowS = Math.floor(Date.now() / 1000);
  const one = (k: typeof root): { keys: Uint8Array[]; threshold: number } => ({ keys: [k.publicKey], threshold: 1 });
  const trust = trustFromRoot(signRoot({ version: 1, expiresAt: nowS + 365 * 86400, root: one(root), targets: one(release), timestamp: one(stamp) }, [root]));
  await openTrustState({ fs, path: join(dir, 'trust.cbor'), initial: trust });
  const mk = (version: string, sequence: number, image: Uint8Array): Uint8Array =>
    signManifest({ vendor: 'acme', deviceClass: 'gw-1', version, sequence, securityCounter: 1, imageSize: image.length, imageDigest: sha256(image) }, release);
  const factory = makeImage(4096, 1);
  const fm = mk('1.0.0', 1, factory);
  const ts = (manifests: Uint8Array[]): Uint8Array => signTimestamp({ version: 1, issuedAt: nowS - 10, expiresAt: nowS + 86400, manifests }, [stamp]);
  await openSlotManager({ dir: join(dir, 'slots'), fs, trust, device: DEVICE, capacity: CAPACITY }, { manifest: fm, image: factory, timestamp: ts([fm]) });
  const image = makeImage(256 * 1024, 2);
  writeFileSync(join(dir, 'image-1.1.0.bin'), image);
  const m = mk('1.1.0', 2, image);
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
  writeJson(join(dir, 'jobs.json'), { jobs: [{ jobId: 'job-1', manifest: b64(m), image: join(dir, 'image-1.1.0.bin'), timestamp: b64(ts([m])), status: 'QUEUED' }], log: [] } satisfies JobsFile);
  return { image };
}

/**
 * Makes the queued job carry root v2 (new root key, new timestamp key; the targets key stays) and
 * a timestamp by the new timestamp key: signed by the old and the new root, or by the new only.
 */
export function queueRootRotation(dir: string, signedByOldRoot: boolean): void {
  const nowS = Math.floor(Date.now() / 1000);
  const one = (k: typeof root): { keys: Uint8Array[]; threshold: number } => ({ keys: [k.publicKey], threshold: 1 });
  const v2 = signRoot({ version: 2, expiresAt: nowS + 365 * 86400, root: one(root2), targets: one(release), timestamp: one(stamp2) }, signedByOldRoot ? [root, root2] : [root2]);
  const f = readJobs(dir);
  const row = f.jobs[0] as JobRow;
  const manifest = new Uint8Array(Buffer.from(row.manifest, 'base64'));
  row.timestamp = Buffer.from(signTimestamp({ version: 1, issuedAt: nowS - 5, expiresAt: nowS + 86400, manifests: [manifest] }, [stamp2])).toString('base64');
  row.roots = [Buffer.from(v2).toString('base64')];
  writeJson(join(dir, 'jobs.json'), f);
}

const TERMINAL = ['SUCCEEDED', 'FAILED', 'REJECTED'];

/** A job source over `jobs.json`: a repeated terminal update answers 'terminal' (AWS TerminalStateReached). */
export function fileJobSource(dir: string): OtaJobSource {
  const path = join(dir, 'jobs.json');
  return {
    async next() {
      const row = readJobs(dir).jobs.find((j) => j.status === 'QUEUED' || j.status === 'IN_PROGRESS');
      if (row === undefined) return undefined;
      const bytes = (x: string): Uint8Array => new Uint8Array(Buffer.from(x, 'base64'));
      return { jobId: row.jobId, image: row.image, manifest: bytes(row.manifest), timestamp: bytes(row.timestamp), ...(row.roots === undefined ? {} : { roots: row.roots.map(bytes) }) };
    },
    async update(jobId, status, details) {
      const f = readJobs(dir);
      const row = f.jobs.find((j) => j.jobId === jobId);
      if (row === undefined) throw new Error(`no job ${jobId}`);
      if (TERMINAL.includes(row.status)) {
        f.log.push({ jobId, status, details: { ...details }, repeat: true });
        writeJson(path, f);
        return 'terminal';
      }
      row.status = status;
      f.log.push({ jobId, status, details: { ...details } });
      writeJson(path, f);
      return undefined;
    },
  };
}

/**
 * Copies the source file from `fromOffset` in 16 KiB chunks (fsynced), logging each start offset.
 * When `onChunk` answers `true` the process "died": the download never returns (in-process tests).
 */
export function fileDownloader(dir: string, onChunk?: (length: number, total: number) => boolean): OtaDownloader {
  return {
    async download(source, toFile, fromOffset, onBytes) {
      appendFileSync(join(dir, 'downloads.log'), `${fromOffset}\n`);
      const data = readFileSync(source);
      const fd = openSync(toFile, 'a');
      try {
        for (let p = fromOffset; p < data.length; p += 16 * 1024) {
          const chunk = data.subarray(p, Math.min(p + 16 * 1024, data.length));
          writeSync(fd, chunk);
          fsyncSync(fd);
          const length = p + chunk.length;
          onBytes(length);
          if (onChunk?.(length, data.length) === true) await new Promise(() => undefined);
          await new Promise((r) => setImmediate(r));
        }
      } finally {
        closeSync(fd);
      }
    },
  };
}

const lastBoot = new Map<string, Booted>();

/** One process lifetime of the device: the bootloader runs (`boot()`), then the agent. */
export async function startDevice(dir: string, hooks: {
  healthy: boolean;
  reboot: () => Promise<void>;
  onEvent?: (e: AgentEvent) => void | Promise<void>;
  onChunk?: (length: number, total: number) => boolean;
  jobs?: OtaJobSource;
  /** Replaces the file-copying downloader. */
  downloader?: OtaDownloader;
  clock?: Clock;
  /** The same process again (no boot): a second agent after the first one's run() threw. */
  reuseBoot?: boolean;
}): Promise<{ agent: OtaAgent; slots: SlotManager }> {
  const fs = nodeOtaFileSystem();
  const trustState = await openTrustState({ fs, path: join(dir, 'trust.cbor') });
  // The slot manager reads the trust through the trusted state, so a root rotation reaches it.
  const slots = await openSlotManager({ dir: join(dir, 'slots'), fs, trust: () => trustState.current().trust, device: DEVICE, capacity: CAPACITY });
  const booted = hooks.reuseBoot === true && lastBoot.get(dir) !== undefined ? (lastBoot.get(dir) as Booted) : await slots.boot();
  lastBoot.set(dir, booted);
  const agent = await createOtaAgent({
    dir: join(dir, 'agent'), fs, slots, booted, trustState, device: DEVICE,
    jobs: hooks.jobs ?? fileJobSource(dir), downloader: hooks.downloader ?? fileDownloader(dir, hooks.onChunk),
    healthCheck: async () => (hooks.healthy ? { ok: true } : { ok: false, reason: 'sensor bus did not come up' }),
    reboot: hooks.reboot,
    ...(hooks.clock === undefined ? {} : { clock: hooks.clock }),
    ...(hooks.onEvent === undefined ? {} : { onEvent: hooks.onEvent }),
  });
  return { agent, slots };
}

export const fileSize = (p: string): number => (existsSync(p) ? statSync(p).size : 0);
