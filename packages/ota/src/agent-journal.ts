// The OTA agent's journal: one small JSON record replaced atomically (write-temp, fsync, rename,
// fsync dir) at every step, so after `kill -9` or a power cut the agent resumes at the last step
// it made durable. Bytes (manifest, timestamp) are base64; the file is sealed with a SHA-256
// (sealed.ts), so damage is MALFORMED rather than another step, status or job.
import { join } from 'node:path';
import { OtaError } from './errors.js';
import { atomicWriteFile, type OtaFileSystem } from './fs.js';
import { seal, unseal } from './sealed.js';

/** The job fields an agent needs: the signed manifest, where the image is, the freshness statement. */
export interface OtaJob {
  /** The job's id (AWS IoT Jobs: ≤ 64 characters). */
  readonly jobId: string;
  /** The signed manifest (COSE). */
  readonly manifest: Uint8Array;
  /** Where the image comes from (a URL, a stream id): handed to the downloader as is. */
  readonly image: string;
  /** The timestamp document, when the trust has a timestamp role. */
  readonly timestamp?: Uint8Array;
  /**
   * Root documents to bring the device's trust up to date (a chain; those not above the trusted
   * version are skipped, the rest must follow each other: see `applyRootUpdate`). Needs `trustState`.
   */
  readonly roots?: readonly Uint8Array[];
}

/** Terminal statuses the agent reports (AWS IoT Jobs' device-side terminal states). */
export type OtaTerminalStatus = 'SUCCEEDED' | 'FAILED' | 'REJECTED';

/** The journalled step. `idle`: no job in hand. */
export type AgentStep = 'idle' | 'download' | 'install' | 'reboot' | 'health' | 'report';

/** The agent's journal record. */
export type AgentRecord =
  | { readonly step: 'idle'; readonly lastJobId?: string }
  | {
      readonly step: Exclude<AgentStep, 'idle'>;
      readonly job: OtaJob;
      /** The manifest's version (known once verified). */
      readonly version: string;
      /** Download attempts started so far. */
      readonly attempts: number;
      /** Set with `step: 'health'` once the check ran: its verdict, before the slot is confirmed or reverted. */
      readonly health?: { readonly ok: boolean; readonly reason?: string };
      /** Set with `step: 'report'`. */
      readonly status?: OtaTerminalStatus;
      readonly details?: Readonly<Record<string, string>>;
      /** After the report, restart into the confirmed image (a reverted trial is still running). */
      readonly rebootAfter?: boolean;
    };

/** File name of the journal in the agent's directory. */
export const AGENT_JOURNAL_FILE = 'agent.json';

const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const unb64 = (s: unknown): Uint8Array => {
  if (typeof s !== 'string') throw new OtaError('MALFORMED', 'agent journal: expected base64');
  return new Uint8Array(Buffer.from(s, 'base64'));
};

/** Reads the journal record (`idle` when there is none). @throws {OtaError} `MALFORMED`. */
export async function readAgentRecord(fs: OtaFileSystem, dir: string): Promise<AgentRecord> {
  const bytes = await fs.readFile(join(dir, AGENT_JOURNAL_FILE));
  if (bytes === undefined) return { step: 'idle' };
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(unseal(bytes, join(dir, AGENT_JOURNAL_FILE)))) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof OtaError) throw err;
    throw new OtaError('MALFORMED', `${join(dir, AGENT_JOURNAL_FILE)}: not JSON (the file is replaced atomically, so this is damage, not a torn write)`);
  }
  if (v['step'] === 'idle') return typeof v['lastJobId'] === 'string' ? { step: 'idle', lastJobId: v['lastJobId'] } : { step: 'idle' };
  const j = v['job'] as Record<string, unknown> | undefined;
  const steps: readonly unknown[] = ['download', 'install', 'reboot', 'health', 'report'];
  if (!steps.includes(v['step']) || typeof j !== 'object' || j === null || typeof j['jobId'] !== 'string' || typeof j['image'] !== 'string' || typeof v['version'] !== 'string') {
    throw new OtaError('MALFORMED', `${join(dir, AGENT_JOURNAL_FILE)}: unexpected shape`);
  }
  const job: OtaJob = {
    jobId: j['jobId'], image: j['image'], manifest: unb64(j['manifest']), ...(j['timestamp'] === undefined ? {} : { timestamp: unb64(j['timestamp']) }),
    ...(Array.isArray(j['roots']) ? { roots: j['roots'].map(unb64) } : {}),
  };
  return { ...(v as object), job } as AgentRecord;
}

/** Replaces the journal record atomically. */
export async function writeAgentRecord(fs: OtaFileSystem, dir: string, r: AgentRecord): Promise<void> {
  const j = r.step === 'idle' ? undefined : r.job;
  const plain = j === undefined ? r : {
    ...r,
    job: { jobId: j.jobId, image: j.image, manifest: b64(j.manifest), ...(j.timestamp === undefined ? {} : { timestamp: b64(j.timestamp) }), ...(j.roots === undefined ? {} : { roots: j.roots.map(b64) }) },
  };
  await atomicWriteFile(fs, join(dir, AGENT_JOURNAL_FILE), seal(new TextEncoder().encode(JSON.stringify(plain))));
}
