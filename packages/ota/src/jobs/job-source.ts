// An OtaJobSource over the @outpost/jobs device client (AWS IoT Jobs device MQTT API):
// StartNextPendingJobExecution hands out the next job (QUEUED → IN_PROGRESS, or the one already
// IN_PROGRESS), UpdateJobExecution reports with expectedVersion (optimistic locking) and the
// client's clientToken (a resend after a lost answer is recognised by the service, not applied
// twice), and an update of an execution already terminal (AWS: InvalidStateTransition with the
// execution's state; TerminalStateReached for a describe) is `'terminal'`.
import { JobsError, type JobExecution, type JobsClient } from '@outpost/jobs';
import type { OtaJobSource } from '../agent.js';
import type { OtaJob, OtaTerminalStatus } from '../agent-journal.js';
import { OtaError } from '../errors.js';
import { parseOtaJobDocument } from '../job-document.js';

/**
 * Options of {@link otaJobSource}.
 *
 * @example
 * ```ts
 * import type { OtaJobSourceOptions } from '@outpost/ota/jobs';
 * const o: OtaJobSourceOptions = { stepTimeoutInMinutes: 30, maxRefusedInARow: 4 };
 * ```
 */
export interface OtaJobSourceOptions {
  /** Step timeout set when a job is started (AWS `stepTimeoutInMinutes`, 1-10080). Default: none. */
  readonly stepTimeoutInMinutes?: number;
  /** Jobs refused in a row by `next()` (not OTA jobs: reported REJECTED) before it gives up with `undefined`. Default 16. */
  readonly maxRefusedInARow?: number;
  /** Called with every job document refused as not an OTA job (already reported REJECTED). */
  readonly onRefused?: (jobId: string, err: OtaError) => void;
}

/** VersionMismatch retries of one update (each re-reads the execution's version first). */
const VERSION_RETRIES = 3;

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT', 'CANCELED', 'REMOVED']);

/**
 * Makes the agent's job source from a device jobs client. `next()` starts the next pending
 * execution and reads its job document with `parseOtaJobDocument`; a job whose document is not
 * an OTA job document is reported REJECTED (`reason: MALFORMED`) and skipped. `update()` sends
 * the execution's `expectedVersion` (re-read with DescribeJobExecution after a restart or a
 * VersionMismatch) and answers `'terminal'` for an execution already in a terminal state.
 *
 * @throws {TypeError} when `jobs` is not a jobs client.
 * @example
 * ```ts
 * import { otaJobSource } from '@outpost/ota/jobs';
 * import type { JobsClient } from '@outpost/jobs';
 * const source = (jobs: JobsClient) => otaJobSource(jobs, { stepTimeoutInMinutes: 60 });
 * typeof source; // 'function'
 * let refused = '';
 * try { otaJobSource({} as JobsClient); } catch (e) { refused = (e as Error).name; }
 * refused; // 'TypeError'
 * ```
 */
export function otaJobSource(jobs: JobsClient, options: OtaJobSourceOptions = {}): OtaJobSource {
  if (typeof jobs !== 'object' || jobs === null || typeof jobs.startNext !== 'function' || typeof jobs.update !== 'function') throw new TypeError('jobs: expected a JobsClient (createJobsClient)');
  const versions = new Map<string, number>();
  const maxRefused = options.maxRefusedInARow ?? 16;
  if (!Number.isInteger(maxRefused) || maxRefused < 1) throw new RangeError(`maxRefusedInARow: expected a positive integer, got ${String(maxRefused)}`);

  // The execution's current version and status (DescribeJobExecution), or undefined when it is gone.
  const current = async (jobId: string): Promise<{ version: number; status: string } | undefined> => {
    const e = await jobs.describe(jobId);
    return e === undefined ? undefined : { version: e.versionNumber, status: e.status };
  };

  const update = async (jobId: string, status: 'IN_PROGRESS' | OtaTerminalStatus, details: Readonly<Record<string, string>>): Promise<void | 'terminal'> => {
    for (let attempt = 0; ; attempt++) {
      try {
        let expected = versions.get(jobId);
        if (expected === undefined) {
          const now = await current(jobId);
          if (now === undefined || TERMINAL.has(now.status)) return 'terminal';
          expected = now.version;
        }
        const r = await jobs.update(jobId, status, { statusDetails: details, expectedVersion: expected, includeJobExecutionState: true });
        if (r.executionState !== undefined) versions.set(jobId, r.executionState.versionNumber);
        else versions.delete(jobId);
        return undefined;
      } catch (err) {
        if (!(err instanceof JobsError)) throw err;
        // An execution already in a terminal state (a repeat after a restart, cancelled by the
        // operator, timed out): AWS answers an update InvalidStateTransition with the execution's
        // state, a describe TerminalStateReached; either way the report is settled.
        if (err.code === 'TerminalStateReached' || err.code === 'ResourceNotFound') return 'terminal';
        if (err.code === 'InvalidStateTransition') {
          const state = (err.value as { executionState?: { status?: string } } | undefined)?.executionState;
          const now = state?.status ?? (await current(jobId).catch(() => undefined))?.status;
          if (now === undefined || TERMINAL.has(now)) return 'terminal';
          throw err;
        }
        if (err.code !== 'VersionMismatch' || attempt >= VERSION_RETRIES) throw err;
        versions.delete(jobId);
      }
    }
  };

  const accept = async (e: JobExecution): Promise<OtaJob | undefined> => {
    versions.set(e.jobId, e.versionNumber);
    try {
      return parseOtaJobDocument(e.jobId, e.jobDocument);
    } catch (err) {
      if (!(err instanceof OtaError)) throw err;
      await update(e.jobId, 'REJECTED', { reason: err.code, message: err.message.slice(0, 200) });
      options.onRefused?.(e.jobId, err);
      return undefined;
    }
  };

  return {
    async next() {
      for (let refused = 0; refused < maxRefused; refused++) {
        const e = await jobs.startNext(options.stepTimeoutInMinutes === undefined ? {} : { stepTimeoutInMinutes: options.stepTimeoutInMinutes });
        if (e === undefined) return undefined;
        const job = await accept(e);
        if (job !== undefined) return job;
      }
      return undefined;
    },
    update,
  };
}
