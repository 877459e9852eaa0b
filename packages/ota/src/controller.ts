// The fleet-side rollout controller: a state machine over device reports, with the time given by
// the caller. Its state is the replay of an append-only journal of events (journal.ts), so it
// survives a restart.
import { finiteIn } from './check.js';
import { OtaError } from './errors.js';
import { DEVICE_REPORTS, type ControllerStore, type DeviceReport, type RolloutEvent } from './journal.js';
import { checkPolicy, type RolloutPlan, type Wave } from './rollout.js';

/** Controller status. */
export type RolloutStatus = 'running' | 'paused' | 'aborted' | 'completed';

/** Counts for one wave. */
export interface WaveProgress {
  readonly name: string;
  readonly size: number;
  readonly dispatched: number;
  readonly confirmed: number;
  readonly failed: number;
}

/** A summary of the rollout. */
export interface RolloutSnapshot {
  readonly status: RolloutStatus;
  /** Index of the current wave. */
  readonly wave: number;
  readonly waveName: string;
  readonly reason?: string;
  readonly waves: readonly WaveProgress[];
}

/** Drives a {@link RolloutPlan} from device reports. */
export interface RolloutController {
  /** Devices to notify now (the current wave, within its rate limit); journaled as dispatched. */
  tick(now: number): Promise<string[]>;
  /** Records a device's report; `details` (the job execution's statusDetails) are kept in the journal for the operator. */
  report(deviceId: string, status: DeviceReport, now: number, details?: Readonly<Record<string, string>>): Promise<void>;
  pause(now: number): Promise<void>;
  resume(now: number): Promise<void>;
  /** Stops the rollout for good (an operator's decision); `reason` is kept. */
  abort(now: number, reason: string): Promise<void>;
  /** The devices dispatched so far, in dispatch order. */
  dispatched(): string[];
  /** The last report of a device, `undefined` before its first. */
  result(deviceId: string): DeviceReport | undefined;
  snapshot(): RolloutSnapshot;
}

interface Live {
  status: RolloutStatus;
  wave: number;
  reason?: string;
  dispatched: Map<string, number>;
  result: Map<string, DeviceReport>;
  waveOf: Map<string, number>;
}

/**
 * Opens a controller over a plan and a journal, replaying what the journal holds.
 *
 * @example
 * ```ts
 * import {
 *   memoryControllerStore, openRolloutController, planRollout, type ControllerStore, type DeviceReport, type RolloutController,
 *   type RolloutEvent, type RolloutSnapshot, type RolloutStatus, type WaveProgress,
 * } from '@outpost/ota';
 * const plan = planRollout({ devices: ['a', 'b', 'c'], seed: 'r1', waves: ['canary', 1], canary: ['a'] });
 * const store: ControllerStore = memoryControllerStore();
 * const ctl: RolloutController = await openRolloutController(plan, store);
 * await ctl.tick(0); // ['a']
 * const report: DeviceReport = 'confirmed';
 * await ctl.report('a', report, 1000);
 * const s: RolloutSnapshot = ctl.snapshot();
 * const status: RolloutStatus = s.status; // 'running'
 * const canary: WaveProgress | undefined = s.waves[0]; // { name: 'canary', size: 1, confirmed: 1, ... }
 * const journal: RolloutEvent[] = await store.load(); // dispatch, report: replayed after a restart
 * s.waveName; // '100%'
 * ```
 */
export async function openRolloutController(plan: RolloutPlan, store: ControllerStore): Promise<RolloutController> {
  if (typeof plan !== 'object' || plan === null || !Array.isArray(plan.waves) || plan.waves.length === 0) throw new TypeError('plan: expected a RolloutPlan');
  for (const [i, w] of plan.waves.entries()) checkPolicy(w.policy, i);
  const s: Live = { status: 'running', wave: 0, dispatched: new Map(), result: new Map(), waveOf: new Map() };
  for (const w of plan.waves) for (const d of w.devices) s.waveOf.set(d, w.index);
  const counts = (w: Wave): { confirmed: number; failed: number; dispatched: number } => {
    let confirmed = 0;
    let failed = 0;
    let dispatched = 0;
    for (const d of w.devices) {
      const r = s.result.get(d);
      if (r === 'confirmed') confirmed++;
      else if (r === 'failed' || r === 'rolled-back') failed++;
      if (s.dispatched.has(d)) dispatched++;
    }
    return { confirmed, failed, dispatched };
  };
  // Advance past finished (or empty) waves; abort on the wave's failure criterion.
  const evaluate = (): void => {
    while (s.status === 'running' || s.status === 'paused') {
      const w = plan.waves[s.wave] as Wave;
      const c = counts(w);
      const finished = c.confirmed + c.failed;
      if (finished >= w.policy.abortMinFinished && c.failed / finished > w.policy.abortFailureRate) {
        s.status = 'aborted';
        s.reason = `wave ${w.name}: ${c.failed} of ${finished} finished devices failed or rolled back (abort above ${w.policy.abortFailureRate * 100} % after ${w.policy.abortMinFinished})`;
        return;
      }
      const needed = Math.ceil(w.policy.successThreshold * w.devices.length);
      if (c.failed > w.devices.length - needed) {
        // Too many failures for the success threshold to be reached: the wave can never finish.
        s.status = 'aborted';
        s.reason = `wave ${w.name}: ${c.failed} of ${w.devices.length} devices failed or rolled back; the ${w.policy.successThreshold * 100} % success threshold can no longer be met`;
        return;
      }
      if (s.status === 'paused' || c.confirmed < needed) return;
      if (s.wave === plan.waves.length - 1) {
        s.status = 'completed';
        return;
      }
      s.wave++;
    }
  };
  const apply = (e: RolloutEvent): void => {
    if (e.type === 'dispatch') for (const d of e.devices) s.dispatched.set(d, e.at);
    else if (e.type === 'report') {
      const prev = s.result.get(e.device);
      // A terminal result stays (a late 'downloaded' does not undo 'confirmed').
      if (prev === undefined || !['confirmed', 'failed', 'rolled-back'].includes(prev) || ['confirmed', 'failed', 'rolled-back'].includes(e.status)) s.result.set(e.device, e.status);
    } else if (e.type === 'pause') {
      if (s.status === 'running') s.status = 'paused';
    } else if (e.type === 'abort') {
      if (s.status === 'running' || s.status === 'paused') {
        s.status = 'aborted';
        s.reason = `aborted by the operator: ${e.reason}`;
      }
    } else if (s.status === 'paused') s.status = 'running';
    evaluate();
  };
  for (const e of await store.load()) apply(e);
  const record = async (e: RolloutEvent): Promise<void> => {
    await store.append(e);
    apply(e);
  };
  const num = (n: unknown, what: string): void => {
    finiteIn(n, `${what} (ms)`, 0);
  };
  return {
    async tick(now) {
      num(now, 'now');
      evaluate();
      if (s.status !== 'running') return [];
      const w = plan.waves[s.wave] as Wave;
      let budget = w.policy.maxPerMinute;
      if (Number.isFinite(budget)) for (const at of s.dispatched.values()) if (now - at < 60_000) budget--;
      const out: string[] = [];
      for (const d of w.devices) {
        if (out.length >= budget) break;
        if (!s.dispatched.has(d)) out.push(d);
      }
      if (out.length > 0) await record({ type: 'dispatch', at: now, devices: out });
      return out;
    },
    async report(deviceId, status, now, details) {
      num(now, 'now');
      if (typeof deviceId !== 'string') throw new TypeError('deviceId: expected a string');
      if (!s.waveOf.has(deviceId)) throw new OtaError('ROLLOUT_STATE', `report: "${deviceId}" is not in the plan`);
      if (!DEVICE_REPORTS.includes(status)) throw new RangeError(`report: unknown status "${String(status)}"`);
      if (details !== undefined && (typeof details !== 'object' || details === null || !Object.values(details).every((v) => typeof v === 'string'))) throw new TypeError('report: details: expected a map of strings');
      await record({ type: 'report', at: now, device: deviceId, status, ...(details === undefined ? {} : { details: { ...details } }) });
    },
    async abort(now, reason) {
      num(now, 'now');
      if (typeof reason !== 'string') throw new TypeError('abort: reason: expected a string');
      if (s.status !== 'running' && s.status !== 'paused') throw new OtaError('ROLLOUT_STATE', `abort: rollout is ${s.status}`);
      await record({ type: 'abort', at: now, reason });
    },
    result: (deviceId) => s.result.get(deviceId),
    dispatched: () => [...s.dispatched.keys()],
    async pause(now) {
      num(now, 'now');
      if (s.status !== 'running') throw new OtaError('ROLLOUT_STATE', `pause: rollout is ${s.status}`);
      await record({ type: 'pause', at: now });
    },
    async resume(now) {
      num(now, 'now');
      if (s.status !== 'paused') throw new OtaError('ROLLOUT_STATE', `resume: rollout is ${s.status}`);
      await record({ type: 'resume', at: now });
    },
    snapshot() {
      return {
        status: s.status,
        wave: s.wave,
        waveName: (plan.waves[s.wave] as Wave).name,
        ...(s.reason === undefined ? {} : { reason: s.reason }),
        waves: plan.waves.map((w) => ({ name: w.name, size: w.devices.length, ...counts(w) })),
      };
    },
  };
}
