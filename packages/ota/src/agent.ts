// The device OTA agent core: job → verify the manifest (and freshness) → download (resumable) →
// install into the inactive slot → reboot into a trial boot → health check → confirm or roll back
// → report the terminal status with statusDetails. Every step is journalled (agent-journal.ts)
// before it acts, so a `kill -9` or power cut at any instant resumes at the right step, and
// SUCCEEDED is reported only for an image the boot state holds as confirmed.
//
// It composes injected interfaces, so it does not depend on a transport: a job source (the
// @outpost/jobs device client, AWS IoT Jobs semantics) and a downloader (MQTT streams, HTTP
// ranges, CoAP blocks) are wired in by the application.
import { join } from 'node:path';
import { intAtLeast } from './check.js';
import { systemClock, type Clock } from './clock.js';
import { OtaError, type OtaErrorCode } from './errors.js';
import type { OtaFileSystem } from './fs.js';
import type { TrustStore } from './keyset.js';
import { readAgentRecord, writeAgentRecord, type AgentRecord, type OtaJob, type OtaTerminalStatus } from './agent-journal.js';
import type { Booted, SlotManager } from './slot-manager.js';
import type { TrustStateStore } from './trust-state.js';
import { decodeRoot } from './roles.js';
import { parseSigned } from './cose-multi.js';
import { decodeManifest, MANIFEST_CONTENT_TYPE } from './manifest.js';
import { verifyManifest, type DeviceIdentity } from './verify.js';

/** Where jobs come from and where their status goes (the minimal part of an AWS IoT Jobs client). */
export interface OtaJobSource {
  /** The next job for this device (QUEUED or IN_PROGRESS), or `undefined` when there is none. */
  next(): Promise<OtaJob | undefined>;
  /**
   * Updates the job execution. A restart may send the last update again: a source answers a
   * repeat of a terminal update with `'terminal'` (AWS's TerminalStateReached) instead of a
   * second transition; the agent treats that as reported.
   */
  update(jobId: string, status: 'IN_PROGRESS' | OtaTerminalStatus, details: Readonly<Record<string, string>>): Promise<void | 'terminal'>;
}

/**
 * What the verified manifest says the image is: its SHA-256 and size.
 *
 * @example
 * ```ts
 * import type { ExpectedImage } from '@outpost/ota';
 * const expected: ExpectedImage = { sha256: new Uint8Array(32), size: 1024 };
 * ```
 */
export interface ExpectedImage {
  readonly sha256: Uint8Array;
  readonly size: number;
}

/** Fetches an image into a file, resuming from an offset. */
export interface OtaDownloader {
  /**
   * Writes the bytes of `source` from `fromOffset` on to the end of `toFile` (created when
   * missing), calling `onBytes` with the file's length as bytes land; or, for a downloader that
   * keeps its own resume journal, leaves the whole verified file at `toFile` (`expected` is the
   * verified manifest's digest and size). Resolves when the source has no more bytes. Rejects with
   * an `OtaError` `DIGEST_MISMATCH` / `IMAGE_TRUNCATED` / `IMAGE_TOO_LONG` for a bad transfer (a new
   * attempt from byte 0, within `maxDownloadAttempts`), another `OtaError` for a permanent failure
   * (the job FAILS with its code); any other error is a transport error, waited out and resumed.
   */
  download(source: string, toFile: string, fromOffset: number, onBytes: (length: number) => void, expected: ExpectedImage): Promise<void>;
}

/** The health verdict of the trial image. */
export type HealthResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Events for logs and tests, each after the journal or the slot state it names is durable. */
export type AgentEvent = AgentRecord['step'] | 'installed' | 'confirmed' | 'reverted' | 'reported' | 'download-retry';

/** Options of {@link createOtaAgent}. */
export interface OtaAgentOptions {
  /** The agent's directory: its journal and the download file. */
  readonly dir: string;
  readonly fs: OtaFileSystem;
  readonly slots: SlotManager;
  /** What `slots.boot()` returned at this process start (the bootloader ran before the agent). */
  readonly booted: Booted;
  readonly jobs: OtaJobSource;
  readonly downloader: OtaDownloader;
  readonly device: DeviceIdentity;
  /** The persisted trusted state (timestamp floor kept across restarts); or `trust` alone. */
  readonly trustState?: TrustStateStore;
  /** A fixed trust, when there is no `trustState` (no timestamp floor is kept). */
  readonly trust?: TrustStore;
  /** The trial image's health check, run after the trial boot. */
  healthCheck(): Promise<HealthResult>;
  /** Restarts the device (in tests: ends the process). It should not return; if it does, `run` ends. */
  reboot(): Promise<void>;
  /** Seconds since the epoch, or `'no-clock'`. Default: the system clock. */
  readonly nowSeconds?: () => number | 'no-clock';
  /**
   * Downloads per job that end in a bad transfer (digest or size wrong: the file starts over from
   * byte 0) before the job FAILS. Default 3. Transport errors do not count: see `retryDelayMs`.
   */
  readonly maxDownloadAttempts?: number;
  /** Wait after a transport error before resuming the download; doubles each time. Default 30 000 ms. */
  readonly retryDelayMs?: number;
  /** Cap of the doubling wait. Default 600 000 ms (10 min). */
  readonly maxRetryDelayMs?: number;
  /** Time for the retry waits. Default {@link systemClock}. */
  readonly clock?: Clock;
  readonly onEvent?: (event: AgentEvent, jobId: string | undefined) => void | Promise<void>;
}

/** The device's OTA agent. Create with {@link createOtaAgent}. */
export interface OtaAgent {
  /**
   * Resumes the journalled job, then takes jobs until the source has none, or until it reboots
   * the device. Call once per process start.
   */
  run(): Promise<'idle' | 'rebooting'>;
  /** The journal record. */
  record(): AgentRecord;
}

type Ctx = OtaAgentOptions & {
  rec: AgentRecord; readonly file: string; readonly maxAttempts: number; readonly delays: { readonly first: number; readonly max: number }; readonly time: Clock; emit(e: AgentEvent): Promise<void>; save(r: AgentRecord): Promise<void> };
type Active = Exclude<AgentRecord, { step: 'idle' }>;
type Next = 'continue' | 'idle' | 'rebooting';

const now = (c: Ctx): number | 'no-clock' => (c.nowSeconds ?? ((): number => Math.floor(Date.now() / 1000)))();
const trustOf = (c: Ctx): TrustStore => c.trustState?.current().trust ?? (c.trust as TrustStore);
const freshness = (c: Ctx, job: OtaJob): { timestampVersion: number; timeFloor: number; timestamp?: Uint8Array } => ({
  timestampVersion: c.trustState?.current().timestampVersion ?? 0, timeFloor: c.trustState?.current().timeFloor ?? 0,
  ...(job.timestamp === undefined ? {} : { timestamp: job.timestamp }),
});

// IN_PROGRESS updates are progress information: a transport error must not stop or reroute the
// update (the terminal report is the one that is retried until the source has it).
async function progress(c: Ctx, jobId: string, details: Record<string, string>): Promise<void> {
  await c.jobs.update(jobId, 'IN_PROGRESS', details).catch(() => undefined);
}

async function toReport(c: Ctx, r: Active, status: OtaTerminalStatus, details: Record<string, string>, rebootAfter = false): Promise<Next> {
  await c.save({ ...r, step: 'report', status, details: { version: r.version, ...details }, ...(rebootAfter ? { rebootAfter } : {}) });
  return 'continue';
}

// TUF 5.3: bring the root up to date first. Roots not above the trusted version are skipped (a
// chain from an older device); each applied one is persisted before the next.
async function updateRoots(c: Ctx, roots: readonly Uint8Array[]): Promise<{ code: OtaErrorCode; message: string } | undefined> {
  if (c.trustState === undefined) return { code: 'BAD_STATE', message: 'the job carries root updates and the agent has no trustState to keep them' };
  try {
    const current = c.trustState.current().trust.roles?.rootVersion ?? 0;
    const newer = roots.filter((r) => decodeRoot(r).version > current);
    if (newer.length > 0) await c.trustState.updateRoot(newer);
    return undefined;
  } catch (err) {
    if (err instanceof OtaError) return { code: err.code, message: err.message };
    throw err;
  }
}

// Verify before a byte is downloaded (TUF 5.4-5.6: metadata first, then the target, bounded by its size).
async function takeJob(c: Ctx): Promise<Next> {
  const job = await c.jobs.next();
  // A source that still offers the job just reported would loop forever: stop instead.
  if (job === undefined || (c.rec.step === 'idle' && c.rec.lastJobId === job.jobId)) return 'idle';
  const refused = job.roots === undefined ? undefined : await updateRoots(c, job.roots);
  if (refused !== undefined) return toReport(c, { step: 'download', job, version: 'unknown', attempts: 0 }, 'REJECTED', { reason: refused.code, message: refused.message.slice(0, 200) });
  const st = c.slots.state();
  const f = freshness(c, job);
  const r = verifyManifest(job.manifest, {
    trust: trustOf(c), device: c.device, now: now(c), ...(f.timestamp === undefined ? {} : { timestamp: f.timestamp }),
    state: { sequence: st.sequence, securityCounter: st.securityCounter, knownBad: st.knownBad, timestampVersion: f.timestampVersion, timeFloor: f.timeFloor, ...(c.booted.trial ? {} : { version: c.booted.manifest.version }) },
  });
  const base: Active = { step: 'download', job, version: r.ok ? r.manifest.version : 'unknown', attempts: 0 };
  if (!r.ok) return toReport(c, base, 'REJECTED', { reason: r.code, message: r.message.slice(0, 200) });
  if (r.timestamp !== undefined) await c.trustState?.recordTimestamp(r.timestamp);
  await c.save(base);
  await progress(c, job.jobId, { step: 'downloading', version: base.version });
  return 'continue';
}

/** Codes of a bad transfer: the download starts over from byte 0 within the attempts. */
const TRANSFER: readonly OtaErrorCode[] = ['DIGEST_MISMATCH', 'IMAGE_TRUNCATED', 'IMAGE_TOO_LONG', 'IMAGE_TOO_LARGE'];

async function fileLength(fs: OtaFileSystem, path: string): Promise<number> {
  let n = 0;
  for await (const chunk of fs.readChunks(path, 1 << 20)) n += chunk.length;
  return n;
}

async function download(c: Ctx, r: Active): Promise<Next> {
  if (r.attempts >= c.maxAttempts) return toReport(c, r, 'FAILED', { reason: 'DOWNLOAD_FAILED', message: `no verified image after ${r.attempts} downloads` });
  await c.save({ ...r, attempts: r.attempts + 1 });
  const m = decodeManifest(parseSigned(r.job.manifest, MANIFEST_CONTENT_TYPE).payload); // verified in takeJob
  // A device that drops off resumes when the link is back: a transport error waits and resumes
  // from what is on disk (the whole file is hashed at install, so a damaged prefix is caught there).
  let delay = c.delays.first;
  for (;;) {
    const from = await fileLength(c.fs, c.file);
    try {
      await c.downloader.download(r.job.image, c.file, from, () => undefined, { sha256: m.imageDigest, size: m.imageSize });
      break;
    } catch (err) {
      // A bad transfer starts over (a new attempt); another OtaError is permanent (the image is gone).
      if (err instanceof OtaError && TRANSFER.includes(err.code)) return c.save({ ...r, attempts: r.attempts + 1 }).then(() => 'continue');
      if (err instanceof OtaError) return toReport(c, r, 'FAILED', { reason: err.code, message: err.message.slice(0, 200) });
      await c.emit('download-retry');
      await c.time.sleep(delay, new AbortController().signal);
      delay = Math.min(delay * 2, c.delays.max);
    }
  }
  await c.save({ ...r, step: 'install', attempts: r.attempts + 1 });
  return 'continue';
}

async function install(c: Ctx, r: Active): Promise<Next> {
  if (c.slots.state().trial === undefined) {
    try {
      const f = freshness(c, r.job);
      await c.slots.install(r.job.manifest, c.fs.readChunks(c.file, 1 << 16), f.timestamp === undefined ? {} : { freshness: { ...f, timestamp: f.timestamp } });
    } catch (err) {
      if (!(err instanceof OtaError)) throw err;
      await c.fs.unlink(c.file);
      const transfer = TRANSFER.includes(err.code);
      // A bad transfer (a corrupted or over-long download) starts over from byte 0, within the attempts.
      if (transfer && r.attempts < c.maxAttempts) return c.save({ ...r, step: 'download' }).then(() => 'continue');
      return toReport(c, r, 'FAILED', { reason: err.code, message: err.message.slice(0, 200) });
    }
    await c.emit('installed');
  }
  await c.fs.unlink(c.file);
  await c.save({ ...r, step: 'reboot' });
  await progress(c, r.job.jobId, { step: 'rebooting', version: r.version });
  await c.emit('reboot');
  await c.reboot();
  return 'rebooting';
}

// After the restart: the bootloader either runs the trial image, or it already rolled it back,
// or (a crash after confirm) the new image is the confirmed one.
async function afterBoot(c: Ctx, r: Active): Promise<Next> {
  const b = c.booted;
  const st = c.slots.state();
  // Every boot() consumes a pending trial (runs it or drops it): a trial still pending while this
  // process runs another image means the reboot has not happened yet (a new agent, same boot).
  if (st.trial !== undefined && !b.trial) {
    await c.reboot();
    return 'rebooting';
  }
  if (b.manifest.version === r.version && !b.trial && st.trial === undefined) return toReport(c, r, 'SUCCEEDED', { step: 'confirmed' });
  if (!b.trial || b.manifest.version !== r.version) {
    // The verdict was journalled before the revert: a crash in between keeps the reason.
    if (r.health?.ok === false) return toReport(c, r, 'FAILED', { reason: 'HEALTH_CHECK_FAILED', message: (r.health.reason ?? '').slice(0, 200) });
    return toReport(c, r, 'FAILED', { reason: 'ROLLED_BACK', message: (b.rolledBack?.reason ?? 'the trial image did not boot').slice(0, 200) });
  }
  if (r.step !== 'health') {
    await c.save({ ...r, step: 'health' });
    await c.emit('health');
  }
  return health(c, { ...r, step: 'health' });
}

async function health(c: Ctx, r: Active): Promise<Next> {
  let verdict = r.health;
  if (verdict === undefined) {
    const h = await c.healthCheck().catch((err: unknown): HealthResult => ({ ok: false, reason: `health check threw: ${String((err as Error)?.message ?? err)}` }));
    verdict = h.ok ? { ok: true } : { ok: false, reason: h.reason };
    await c.save({ ...r, health: verdict });
  }
  if (verdict.ok) {
    await c.slots.confirm();
    await c.emit('confirmed');
    return toReport(c, r, 'SUCCEEDED', { step: 'confirmed' });
  }
  await c.slots.revert(verdict.reason ?? 'health check failed');
  await c.emit('reverted');
  return toReport(c, r, 'FAILED', { reason: 'HEALTH_CHECK_FAILED', message: (verdict.reason ?? '').slice(0, 200) }, true);
}

async function report(c: Ctx, r: Active): Promise<Next> {
  await c.jobs.update(r.job.jobId, r.status as OtaTerminalStatus, r.details ?? {});
  await c.emit('reported');
  await c.save({ step: 'idle', lastJobId: r.job.jobId });
  await c.emit('idle');
  // A reverted trial still runs until the restart (unless the crash that led here restarted it already).
  if (r.rebootAfter === true && c.booted.manifest.version === r.version) {
    await c.reboot();
    return 'rebooting';
  }
  return 'continue';
}

/**
 * Creates the device's OTA agent over a slot manager, a job source and a downloader. A job's
 * manifest is verified before its image is fetched (refused: REJECTED with the code); the image
 * is downloaded resumably, installed (hashed as it goes) into the inactive slot, and the device
 * reboots into a trial boot; after it, the health check confirms the image (SUCCEEDED) or reverts
 * it (FAILED with the reason, and a reboot into the confirmed image).
 *
 * @throws {TypeError} on missing options; {@link OtaError} `MALFORMED` for a damaged journal.
 * @example
 * ```ts
 * import {
 *   AGENT_JOURNAL_FILE, createOtaAgent, createTrustStore, generateKeyPair, nodeOtaFileSystem, openSlotManager, signManifest,
 *   type AgentEvent, type AgentRecord, type AgentStep, type HealthResult, type OtaAgent, type OtaAgentOptions, type OtaDownloader, type OtaJob,
 *   type OtaJobSource, type OtaTerminalStatus,
 * } from '@outpost/ota';
 * import { createHash } from 'node:crypto';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const key = generateKeyPair();
 * const fields = (version: string, sequence: number, image: Uint8Array) => ({ vendor: 'acme', deviceClass: 'gw', version, sequence,
 *   securityCounter: 1, imageSize: image.length, imageDigest: new Uint8Array(createHash('sha256').update(image).digest()) });
 * const factory = new Uint8Array(1024).fill(1);
 * const dir = mkdtempSync(join(tmpdir(), 'ota-agent-'));
 * const fs = nodeOtaFileSystem();
 * const trust = createTrustStore({ signingKeys: [key.publicKey] });
 * const device = { deviceClass: 'gw' };
 * const slots = await openSlotManager({ dir: join(dir, 'slots'), fs, trust, device, capacity: 1 << 20 },
 *   { manifest: signManifest(fields('1.0.0', 1, factory), key), image: factory });
 * const booted = await slots.boot(); // the bootloader runs first, at every start
 * // A job whose manifest is signed by a key the device does not trust.
 * const queue: OtaJob[] = [{ jobId: 'job-7', manifest: signManifest(fields('1.1.0', 2, factory), generateKeyPair()), image: 'https://updates.example/fw.bin' }];
 * const reports: Array<[string, OtaTerminalStatus | 'IN_PROGRESS']> = [];
 * const jobs: OtaJobSource = { next: async () => queue.shift(), update: async (id, status) => void reports.push([id, status]) };
 * const downloader: OtaDownloader = { download: async () => { throw new Error('not reached: the manifest is checked first'); } };
 * const events: AgentEvent[] = [];
 * const options: OtaAgentOptions = {
 *   dir: join(dir, 'agent'), fs, slots, booted, jobs, downloader, trust, device, maxDownloadAttempts: 3,
 *   healthCheck: async (): Promise<HealthResult> => ({ ok: true }), reboot: async () => undefined, onEvent: (e) => void events.push(e),
 * };
 * const agent: OtaAgent = await createOtaAgent(options);
 * await agent.run(); // 'idle'
 * reports[0]; // ['job-7', 'REJECTED']
 * const record: AgentRecord = agent.record();
 * const step: AgentStep = record.step; // 'idle'
 * AGENT_JOURNAL_FILE; // 'agent.json'
 * ```
 */
export async function createOtaAgent(options: OtaAgentOptions): Promise<OtaAgent> {
  if (typeof options !== 'object' || options === null || typeof options.dir !== 'string') throw new TypeError('options: expected an object with dir');
  if (options.trust === undefined && options.trustState === undefined) throw new TypeError('options: expected trust or trustState');
  for (const f of ['healthCheck', 'reboot'] as const) if (typeof options[f] !== 'function') throw new TypeError(`options.${f}: expected a function`);
  await options.fs.mkdir(options.dir);
  const c: Ctx = {
    ...options, rec: await readAgentRecord(options.fs, options.dir), file: join(options.dir, 'image.download'),
    maxAttempts: intAtLeast(options.maxDownloadAttempts ?? 3, 'maxDownloadAttempts', 1),
    delays: { first: intAtLeast(options.retryDelayMs ?? 30_000, 'retryDelayMs', 1), max: intAtLeast(options.maxRetryDelayMs ?? 600_000, 'maxRetryDelayMs', 1) },
    time: options.clock ?? systemClock,
    emit: async (e) => {
      await options.onEvent?.(e, c.rec.step === 'idle' ? undefined : c.rec.job.jobId);
    },
    save: async (r) => {
      await writeAgentRecord(options.fs, options.dir, r);
      c.rec = r;
    },
  };
  let ran = false;
  return {
    record: () => c.rec,
    async run() {
      if (ran) throw new OtaError('AGENT_STATE', 'run: call once per process start (after slots.boot())');
      ran = true;
      for (;;) {
        const r = c.rec;
        let next: Next;
        if (r.step === 'idle') next = await takeJob(c);
        else if (r.step === 'download') next = await download(c, r);
        else if (r.step === 'install') next = await install(c, r);
        else if (r.step === 'reboot' || r.step === 'health') next = await afterBoot(c, r);
        else next = await report(c, r);
        if (next !== 'continue') return next;
      }
    },
  };
}
