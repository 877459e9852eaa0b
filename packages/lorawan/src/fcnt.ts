// Frame counters: 32-bit counters sent as their 16 least-significant bits
// (LoRaWAN L2 1.0.4 §4.3.1.5, LoRaWAN 1.1 §4.3.1.5).
import { assertInt, assertObject } from './bytes.js';
import { LoRaWANError } from './errors.js';

const MAX_FCNT = 0xffffffff;

/**
 * Reconstructs the 32-bit frame counter from its 16-bit wire value and the last accepted
 * counter: the smallest value ≥ `lastFCnt` whose low 16 bits equal `fCnt16` (so a duplicate of
 * the last frame reconstructs to `lastFCnt` itself). Without `lastFCnt`, returns `fCnt16`.
 * The result may exceed 2^32 − 1 when the session's counter space is exhausted.
 *
 * @example
 * ```ts
 * import { reconstructFCnt } from '@outpost/lorawan';
 * reconstructFCnt(0x0002, 0x0001_fffe); // 0x0002_0002: rolled over the 16-bit wire value
 * ```
 */
export function reconstructFCnt(fCnt16: number, lastFCnt?: number): number {
  assertInt(fCnt16, 'fCnt16', 0, 0xffff);
  if (lastFCnt === undefined) return fCnt16;
  assertInt(lastFCnt, 'lastFCnt', 0, MAX_FCNT);
  const candidate = lastFCnt - (lastFCnt % 0x10000) + fCnt16;
  return candidate >= lastFCnt ? candidate : candidate + 0x10000;
}

/** Options of {@link FrameCounter}. */
export interface FrameCounterOptions {
  /**
   * Largest accepted jump ahead of the last counter. Default 16384 (MAX_FCNT_GAP of LoRaWAN
   * 1.0.x / RP002-1.0.x; 1.0.4 dropped the constant, so pass 65535 for no limit). A frame further
   * ahead than this is indistinguishable from an old frame and is rejected as a replay.
   */
  readonly maxGap?: number;
  /** Last accepted 32-bit counter (restored session). Default: none yet. */
  readonly lastFCnt?: number;
}

/**
 * Receiver-side frame-counter check for one session and direction. LoRaWAN L2 1.0.4 §4.3.1.5:
 * the receiver accepts a frame only if its counter is above the last accepted one, which
 * rejects replays; the 16-bit wire value rolls over into the upper 16 bits; a 32-bit counter
 * must never roll over (the device must rejoin), so a frame that would need it is refused.
 *
 * @example
 * ```ts
 * import { FrameCounter } from '@outpost/lorawan';
 * const rx = new FrameCounter();
 * rx.accept(0);       // 0
 * rx.accept(1);       // 1
 * rx.check(1).ok;     // false: a replay
 * ```
 */
export class FrameCounter {
  private last: number | undefined;
  readonly maxGap: number;

  constructor(options: FrameCounterOptions = {}) {
    assertObject(options, 'options');
    this.maxGap = options.maxGap ?? 16_384;
    assertInt(this.maxGap, 'maxGap', 1, 0xffff);
    if (options.lastFCnt !== undefined) assertInt(options.lastFCnt, 'lastFCnt', 0, MAX_FCNT);
    this.last = options.lastFCnt;
  }

  /** Last accepted 32-bit counter, or undefined before the first frame. */
  get lastFCnt(): number | undefined {
    return this.last;
  }

  /**
   * Checks a received 16-bit counter without accepting it: the reconstructed 32-bit counter, or
   * the typed reason it must be dropped (`REPLAY`, `FCNT_EXHAUSTED`).
   */
  check(fCnt16: number): { readonly ok: true; readonly fCnt: number } | { readonly ok: false; readonly error: LoRaWANError } {
    const fCnt = reconstructFCnt(fCnt16, this.last);
    if (this.last !== undefined) {
      const gap = fCnt - this.last;
      if (gap === 0) {
        return { ok: false, error: new LoRaWANError('REPLAY', `fCnt ${fCnt}: not above the last accepted ${this.last} (replay or duplicate)`) };
      }
      if (gap > this.maxGap) {
        return { ok: false, error: new LoRaWANError('REPLAY', `fCnt16 ${fCnt16}: ${gap} ahead of the last accepted ${this.last}, beyond the gap of ${this.maxGap}; treated as an old frame`) };
      }
    }
    if (fCnt > MAX_FCNT) {
      return { ok: false, error: new LoRaWANError('FCNT_EXHAUSTED', `fCnt: the 32-bit counter would roll over after ${this.last}; the device must rejoin`) };
    }
    return { ok: true, fCnt };
  }

  /**
   * Accepts a frame (call after its MIC verified with the returned counter).
   * @throws LoRaWANError `REPLAY` or `FCNT_EXHAUSTED`.
   */
  accept(fCnt16: number): number {
    const r = this.check(fCnt16);
    if (!r.ok) throw r.error;
    this.last = r.fCnt;
    return r.fCnt;
  }

  /** Accepts an already reconstructed and MIC-verified 32-bit counter. @throws LoRaWANError `REPLAY`. */
  acceptFCnt(fCnt: number): void {
    assertInt(fCnt, 'fCnt', 0, MAX_FCNT);
    if (this.last !== undefined && fCnt <= this.last) {
      throw new LoRaWANError('REPLAY', `fCnt ${fCnt}: not above the last accepted ${this.last}`);
    }
    this.last = fCnt;
  }
}
