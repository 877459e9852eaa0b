// A device's OTA agent over files on disk and its own MQTT connection: the trusted state, the A/B
// slots and the agent journal in one directory, jobs from the AWS IoT Jobs channel, images over
// MQTT streams / HTTP ranges / CoAP blocks. "Reboot" ends the run with 'rebooting': the program
// exits with OTA_REBOOT_EXIT_CODE and its supervisor starts it again (the bootloader's boot()
// then runs the trial image).
import { join } from 'node:path';
import { createJobsClient, type JobsClient, type MqttLike, type StreamMqtt } from '@outpost/jobs';
import { createOtaAgent, type AgentEvent, type HealthResult, type OtaDownloader } from '../agent.js';
import { sleepUnlessAborted, systemClock, type Clock } from '../clock.js';
import { OtaError } from '../errors.js';
import { nodeOtaFileSystem, type OtaFileSystem } from '../fs.js';
import type { TrustStore } from '../keyset.js';
import { openSlotManager, type Booted } from '../slot-manager.js';
import { openTrustState } from '../trust-state.js';
import type { DeviceIdentity } from '../verify.js';
import { httpDownloader, imageDownloader, streamDownloader, type DownloadReport } from './downloaders.js';
import { otaJobSource } from './job-source.js';

/**
 * Exit code of an agent program that asks its supervisor for a restart (the device's "reboot"):
 * 75, EX_TEMPFAIL of sysexits.h.
 *
 * @example
 * ```ts
 * import { OTA_REBOOT_EXIT_CODE } from '@outpost/ota/jobs';
 * OTA_REBOOT_EXIT_CODE; // 75
 * ```
 */
export const OTA_REBOOT_EXIT_CODE = 75;

/**
 * Where a device keeps its OTA state under its directory.
 *
 * @example
 * ```ts
 * import { OTA_DEVICE_FILES } from '@outpost/ota/jobs';
 * OTA_DEVICE_FILES.trust; // 'trust.cbor'
 * ```
 */
export const OTA_DEVICE_FILES = { trust: 'trust.cbor', slots: 'slots', agent: 'agent' } as const;

/** Options of {@link provisionOtaDevice}. */
export interface ProvisionOtaDeviceOptions {
  /** The device's OTA directory (created). */
  readonly dir: string;
  readonly device: DeviceIdentity;
  /** The factory trust (a root's `trustFromRoot`, or `createTrustStore`). */
  readonly trust: TrustStore;
  /** Slot size, bytes. */
  readonly capacity: number;
  /** The factory image and its signed manifest (and timestamp, with a timestamp role). */
  readonly factory: { readonly manifest: Uint8Array; readonly image: Uint8Array; readonly timestamp?: Uint8Array };
  readonly fs?: OtaFileSystem;
}

/**
 * Writes a device's initial OTA state (factory trust, the factory image in slot A, confirmed).
 * Idempotent: a device already provisioned keeps its state.
 *
 * @example
 * ```ts
 * import { provisionOtaDevice, type ProvisionOtaDeviceOptions } from '@outpost/ota/jobs';
 * const provision = (o: ProvisionOtaDeviceOptions) => provisionOtaDevice(o);
 * typeof provision; // 'function'
 * ```
 */
export async function provisionOtaDevice(o: ProvisionOtaDeviceOptions): Promise<void> {
  const fs = o.fs ?? nodeOtaFileSystem();
  await fs.mkdir(o.dir);
  const trustState = await openTrustState({ fs, path: join(o.dir, OTA_DEVICE_FILES.trust), initial: o.trust });
  await openSlotManager({ dir: join(o.dir, OTA_DEVICE_FILES.slots), fs, trust: () => trustState.current().trust, device: o.device, capacity: o.capacity }, o.factory);
}

/** Options of {@link runOtaAgent}. */
export interface RunOtaAgentOptions {
  /** The device's OTA directory, provisioned by {@link provisionOtaDevice}. */
  readonly dir: string;
  readonly device: DeviceIdentity;
  /** Slot size, bytes (as provisioned). */
  readonly capacity: number;
  /** The device's own connection (its certificate's identity may use `$aws/things/{thingName}/{jobs,streams}/#` only). */
  readonly mqtt: MqttLike & StreamMqtt;
  readonly thingName: string;
  /** The trial image's health check. */
  healthCheck(): Promise<HealthResult>;
  /** Downloaders by source kind. Default: MQTT streams on `mqtt` and HTTP; CoAP only when given. */
  readonly downloader?: OtaDownloader;
  /** Jobs client timing. Defaults: the client's (5000 ms, 5 retries). */
  readonly jobs?: { readonly requestTimeoutMs?: number; readonly maxRetries?: number; readonly stepTimeoutInMinutes?: number };
  /** After the last job, wait for the next (notify-next, or a poll every `pollMs`) until `signal` aborts. Default false: return 'idle'. */
  readonly watch?: boolean;
  /** Poll for pending jobs this often while watching. Default 60 000 ms. */
  readonly pollMs?: number;
  /** Ends the watch (and the waits after a transport error); a job in hand is carried to its next journalled step first. */
  readonly signal?: AbortSignal;
  /** Wait after a transport error before trying again (download, report). Default 2000 ms, doubling to `maxRetryDelayMs`. */
  readonly retryDelayMs?: number;
  /** Default 60 000 ms. */
  readonly maxRetryDelayMs?: number;
  readonly maxDownloadAttempts?: number;
  readonly clock?: Clock;
  readonly fs?: OtaFileSystem;
  readonly onEvent?: (event: AgentEvent, jobId: string | undefined) => void | Promise<void>;
  /** Called after each finished download of the default downloaders (resume offset, bytes fetched). */
  readonly onDownloaded?: (report: DownloadReport) => void;
  /** Called with what `boot()` found at this start (the image running, a trial, a rollback). */
  readonly onBoot?: (booted: Booted) => void;
}

/**
 * Wakes the watch loop: a notify-next with an execution (also one that came while the agent was
 * still busy: it is remembered, so a job announced in between is not left for the next poll).
 */
function watcher(jobs: JobsClient, clock: Clock, pollMs: number, signal: AbortSignal | undefined): { next(): Promise<void>; off(): void } {
  let announced = false;
  let wake: (() => void) | undefined;
  const off = jobs.onNext((e) => {
    if (e === undefined) return;
    announced = true;
    wake?.();
  });
  return {
    off,
    next: () => new Promise<void>((resolve) => {
      const stop = new AbortController();
      let settled = false;
      const done = (): void => {
        if (settled) return; // the sleep settles too once stop aborts
        settled = true;
        wake = undefined;
        announced = false;
        stop.abort();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      if (announced || signal?.aborted === true) return done();
      wake = done;
      signal?.addEventListener('abort', done, { once: true });
      void clock.sleep(pollMs, stop.signal).then(done);
    }),
  };
}

/**
 * Runs the device's OTA agent: boots (the bootloader's `boot()`), resumes its journalled job,
 * takes jobs from the jobs channel, downloads, installs, and answers 'rebooting' when the device
 * must restart (the caller exits with {@link OTA_REBOOT_EXIT_CODE}); or 'idle' when there is no
 * job (with `watch`, when `signal` aborts). A transport error (the broker gone while reporting)
 * is waited out and the journalled step resumed; the call does not reject for it.
 *
 * @throws {OtaError} `BAD_STATE` for an unprovisioned directory; `MALFORMED` for a damaged journal.
 * @example
 * ```ts
 * import { runOtaAgent, OTA_REBOOT_EXIT_CODE, type RunOtaAgentOptions } from '@outpost/ota/jobs';
 * const main = async (o: RunOtaAgentOptions) => { if ((await runOtaAgent(o)) === 'rebooting') process.exit(OTA_REBOOT_EXIT_CODE); };
 * typeof main; // 'function'
 * OTA_REBOOT_EXIT_CODE; // 75
 * ```
 */
export async function runOtaAgent(o: RunOtaAgentOptions): Promise<'idle' | 'rebooting'> {
  if (typeof o !== 'object' || o === null || typeof o.dir !== 'string') throw new TypeError('runOtaAgent: expected options with dir');
  const fs = o.fs ?? nodeOtaFileSystem();
  const clock = o.clock ?? systemClock;
  const trustState = await openTrustState({ fs, path: join(o.dir, OTA_DEVICE_FILES.trust) });
  const slots = await openSlotManager({ dir: join(o.dir, OTA_DEVICE_FILES.slots), fs, trust: () => trustState.current().trust, device: o.device, capacity: o.capacity });
  const booted = await slots.boot();
  o.onBoot?.(booted);
  const jobs = await createJobsClient({ mqtt: o.mqtt, thingName: o.thingName, ...(o.jobs?.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: o.jobs.requestTimeoutMs }), ...(o.jobs?.maxRetries === undefined ? {} : { maxRetries: o.jobs.maxRetries }) });
  const common = o.onDownloaded === undefined ? {} : { onDownloaded: o.onDownloaded };
  const downloader = o.downloader ?? imageDownloader({ stream: streamDownloader({ mqtt: o.mqtt, thing: o.thingName, ...common }), http: httpDownloader(common) });
  const source = otaJobSource(jobs, o.jobs?.stepTimeoutInMinutes === undefined ? {} : { stepTimeoutInMinutes: o.jobs.stepTimeoutInMinutes });
  const watch = watcher(jobs, clock, o.pollMs ?? 60_000, o.signal);
  const first = o.retryDelayMs ?? 2000;
  const max = o.maxRetryDelayMs ?? 60_000;
  try {
    for (let delay = first; ;) {
      if (o.signal?.aborted === true) return 'idle';
      const agent = await createOtaAgent({
        dir: join(o.dir, OTA_DEVICE_FILES.agent), fs, slots, booted, trustState, device: o.device, jobs: source, downloader,
        healthCheck: o.healthCheck, reboot: async () => undefined, clock, retryDelayMs: first, maxRetryDelayMs: max,
        ...(o.maxDownloadAttempts === undefined ? {} : { maxDownloadAttempts: o.maxDownloadAttempts }),
        ...(o.onEvent === undefined ? {} : { onEvent: o.onEvent }),
      });
      let outcome: 'idle' | 'rebooting';
      try {
        outcome = await agent.run();
        delay = first;
      } catch (err) {
        // The agent's own refusals are not waited out; a transport error is (the journal holds the step).
        if (err instanceof OtaError || err instanceof TypeError || err instanceof RangeError) throw err;
        await sleepUnlessAborted(clock, delay, o.signal); // leaves no listener on o.signal (a long outage retries many times)
        delay = Math.min(delay * 2, max);
        continue;
      }
      if (outcome === 'rebooting' || o.watch !== true) return outcome;
      await watch.next();
    }
  } finally {
    watch.off();
    await jobs.close();
  }
}

