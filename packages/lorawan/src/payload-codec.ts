// TS013 payload codecs (LoRaWAN Payload Codec API, TS013-1.0.0), run isolated: the codec script
// of a device (as the TTN Device Repository ships them) runs in a worker thread with a bounded
// heap, inside a `vm` context without Node's globals or code generation from strings, with a
// time budget per call. Whatever a codec does ends in a result with a code, never in an
// exception or a blocked event loop in the caller.
import { LoRaWANError } from './errors.js';
import { assertInt, describe } from './bytes.js';
import { CodecLane, type LaneLimits } from './payload-codec-lane.js';
import { dataShape, downlinkShape, packInputs, readResults, type LaneAnswer } from './payload-codec-wire.js';

/** Limits of one loaded codec. */
export interface PayloadCodecOptions {
  /** Budget of one call, ms (a batch gets this per input). Default 50. */
  readonly timeoutMs?: number;
  /** Allowance over a call's budget for the way to and from the worker on a busy machine, ms. Default 100. */
  readonly timeoutGraceMs?: number;
  /** Budget for evaluating the script when it is loaded, ms. Default 1000. */
  readonly loadTimeoutMs?: number;
  /** V8 heap of the codec's worker, MiB. Default 32. */
  readonly maxHeapMb?: number;
  /** Largest script accepted, bytes. Default 1 MiB. */
  readonly maxScriptBytes?: number;
  /** Largest encoded result accepted from one call, bytes of JSON. Default 64 KiB. */
  readonly maxResultBytes?: number;
  /**
   * Inputs per message to the worker: a larger batch goes as several messages at once, so this
   * thread reads one part's results while the worker runs the next. Default 128.
   */
  readonly chunkSize?: number;
  /**
   * Declares the codec a pure function of each input: it keeps no state across calls and does
   * not change a result after returning it. A message's results are then written once, after
   * the codec ran for all its inputs (as a tagged text when they are plain data, else one
   * `JSON.stringify`; each alone only when that fails), and `workers` may be over 1. Nothing
   * checks the declaration: a codec that breaks it gets wrong results, not an error. Default false.
   */
  readonly stateless?: boolean;
  /**
   * Workers running the script (only with `stateless: true`), each with its own context and
   * `maxHeapMb` heap; a batch's messages (an even share each when the batch is smaller than
   * `workers × chunkSize`) go to the one with the fewest inputs outstanding. Default 1.
   */
  readonly workers?: number;
}

/** Why a codec call did not produce data. */
export type PayloadCodecFailure =
  /** The codec returned TS013 `errors`. */
  | 'CODEC_ERRORS'
  /** The codec threw. */
  | 'CODEC_THREW'
  /** The call ran past `timeoutMs`: its worker was ended and is restarted, so the codec's state starts afresh. */
  | 'CODEC_TIMEOUT'
  /** The codec's worker ran out of heap or died; it is restarted for the next call. */
  | 'CODEC_CRASHED'
  /** The result is not what TS013 specifies (no `data`, bad `bytes`, too large…). */
  | 'CODEC_OUTPUT_INVALID'
  /** The script does not define the function called. */
  | 'CODEC_MISSING_FUNCTION';

/** The outcome of one codec call. */
export type PayloadCodecResult<T> =
  | { readonly ok: true; readonly data: T; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly code: PayloadCodecFailure; readonly errors: readonly string[]; readonly warnings: readonly string[] };

/** Input of `decodeUplink` / `decodeDownlink`. */
export interface PayloadCodecInput {
  readonly bytes: Uint8Array | readonly number[];
  readonly fPort: number;
  /** Uplinks only: the reception time (TS013 `recvTime`). */
  readonly recvTime?: Date;
}

/** What `encodeDownlink` returns when it succeeds. */
export interface EncodedDownlink {
  readonly bytes: Uint8Array;
  readonly fPort: number | undefined;
}

/** Counters of one loaded codec. */
export interface PayloadCodecStats {
  calls: number;
  failures: number;
  timeouts: number;
  crashes: number;
  restarts: number;
}

/** A loaded, isolated TS013 codec. */
export interface PayloadCodec {
  /** TS013 `decodeUplink`. */
  decodeUplink(input: PayloadCodecInput): Promise<PayloadCodecResult<unknown>>;
  /** `decodeUplink` over many inputs in one round trip to the worker (the fast path). */
  decodeUplinks(inputs: readonly PayloadCodecInput[]): Promise<PayloadCodecResult<unknown>[]>;
  /** TS013 `encodeDownlink`. */
  encodeDownlink(input: { readonly data: unknown; readonly fPort?: number }): Promise<PayloadCodecResult<EncodedDownlink>>;
  /** TS013 `decodeDownlink`. */
  decodeDownlink(input: PayloadCodecInput): Promise<PayloadCodecResult<unknown>>;
  stats(): PayloadCodecStats;
  /** Stops the worker; later calls reject with `CLOSED`-like `RangeError`. */
  close(): Promise<void>;
}

const KIND = { decodeUplink: 0, encodeDownlink: 1, decodeDownlink: 2 } as const;
type Kind = (typeof KIND)[keyof typeof KIND];
const FN_NAMES = ['decodeUplink', 'encodeDownlink', 'decodeDownlink'] as const;

interface Limits extends LaneLimits {
  readonly chunkSize: number;
  readonly workers: number;
}

function limitsOf(options: PayloadCodecOptions): Limits & { readonly maxScriptBytes: number } {
  if (typeof options !== 'object' || options === null) throw new TypeError(`loadPayloadCodec: options: expected an object, got ${describe(options)}`);
  const o = { timeoutMs: 50, timeoutGraceMs: 100, loadTimeoutMs: 1000, maxHeapMb: 32, maxScriptBytes: 1 << 20, maxResultBytes: 64 << 10, chunkSize: 128, workers: 1, stateless: false, ...options };
  assertInt(o.timeoutMs, 'timeoutMs', 1, 60_000);
  assertInt(o.timeoutGraceMs, 'timeoutGraceMs', 0, 60_000);
  assertInt(o.loadTimeoutMs, 'loadTimeoutMs', 1, 60_000);
  assertInt(o.maxHeapMb, 'maxHeapMb', 8, 4096);
  assertInt(o.maxScriptBytes, 'maxScriptBytes', 1, 64 << 20);
  assertInt(o.maxResultBytes, 'maxResultBytes', 64, 64 << 20);
  assertInt(o.chunkSize, 'chunkSize', 1, 1 << 16);
  assertInt(o.workers, 'workers', 1, 64);
  if (typeof o.stateless !== 'boolean') throw new TypeError(`loadPayloadCodec: stateless: expected a boolean, got ${describe(o.stateless)}`);
  if (o.workers > 1 && !o.stateless) throw new RangeError(`loadPayloadCodec: workers: ${o.workers} needs stateless: true (each worker has its own copy of the codec's state)`);
  return o;
}

/**
 * Loads a TS013 codec script and runs it isolated: a worker thread with a `maxHeapMb` heap, a
 * `vm` context without `require`, `process`, timers or `eval`, and `timeoutMs` of CPU per call.
 * A codec that loops, allocates without bound, throws or returns nonsense yields a result with
 * a {@link PayloadCodecFailure} code; a worker that dies is restarted for the next call.
 *
 * @throws TypeError / RangeError for bad arguments; `LoRaWANError` `CODEC_INVALID` when the
 * script is too large, does not compile, or fails (or runs too long) while loading.
 * @example
 * ```ts
 * import { loadPayloadCodec } from '@outpost/lorawan';
 * const codec = await loadPayloadCodec('function decodeUplink(input) { return { data: { t: input.bytes[0] - 40 } }; }');
 * const r = await codec.decodeUplink({ bytes: [65], fPort: 1 });
 * r.ok && r.data; // { t: 25 }
 * await codec.close();
 * ```
 */
export async function loadPayloadCodec(source: string, options: PayloadCodecOptions = {}): Promise<PayloadCodec> {
  if (typeof source !== 'string') throw new TypeError(`loadPayloadCodec: source: expected a string, got ${describe(source)}`);
  const limits = limitsOf(options);
  const size = Buffer.byteLength(source);
  if (size > limits.maxScriptBytes) throw new LoRaWANError('CODEC_INVALID', `loadPayloadCodec: script is ${size} bytes, over maxScriptBytes ${limits.maxScriptBytes}`);
  const runner = new CodecRunner(source, limits);
  await runner.start();
  return runner.api();
}

class CodecRunner {
  private readonly lanes: CodecLane[];
  private closed = false;
  private readonly counters: PayloadCodecStats = { calls: 0, failures: 0, timeouts: 0, crashes: 0, restarts: 0 };

  constructor(source: string, private readonly limits: Limits) {
    this.lanes = Array.from({ length: limits.workers }, () => new CodecLane(source, limits, this.counters));
  }

  /** Starts every worker; if one fails to load, the others are ended and the load fails. */
  async start(): Promise<void> {
    const started = await Promise.allSettled(this.lanes.map((l) => l.start()));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(this.lanes.map((l) => l.close()));
      throw failed.reason;
    }
  }

  /** Sends one message's inputs to the lane with the fewest inputs outstanding. */
  private call(kind: Kind, count: number, inputs: string, times: string): Promise<LaneAnswer> {
    if (this.closed) return Promise.reject(new RangeError('payload codec: closed'));
    let lane = this.lanes[0] as CodecLane;
    for (const l of this.lanes) if (l.queued < lane.queued) lane = l;
    return lane.call(kind, count, inputs, times);
  }

  api(): PayloadCodec {
    const settle = <T>(kind: Kind, answer: LaneAnswer, count: number, shape: (r: unknown) => PayloadCodecResult<T>): PayloadCodecResult<T>[] => {
      const results = readResults(answer, count, shape, { fn: FN_NAMES[kind], maxResultBytes: this.limits.maxResultBytes, timeoutMs: this.limits.timeoutMs });
      const c = this.counters;
      c.calls += count;
      for (const r of results) {
        if (r.ok) continue;
        c.failures++;
        if (r.code === 'CODEC_TIMEOUT') c.timeouts++;
      }
      return results;
    };
    const decodeMany = async (kind: Kind, inputs: readonly PayloadCodecInput[]): Promise<PayloadCodecResult<unknown>[]> => {
      // Every chunk is checked and packed before any is sent: a bad input refuses the whole batch.
      // With several workers, a batch smaller than workers × chunkSize is split evenly over them.
      const { chunkSize, workers } = this.limits;
      const size = workers === 1 ? chunkSize : Math.max(1, Math.min(chunkSize, Math.ceil(inputs.length / workers)));
      const chunks: { count: number; packed: string; times: string }[] = [];
      for (let i = 0; i < inputs.length || i === 0; i += size) {
        const part = inputs.length <= size ? inputs : inputs.slice(i, i + size);
        chunks.push({ count: part.length, ...packInputs(part, i) });
      }
      const answers = chunks.map((c) => this.call(kind, c.count, c.packed, c.times).then((answer) => settle(kind, answer, c.count, dataShape)));
      const parts = await Promise.all(answers);
      return parts.length === 1 ? (parts[0] as PayloadCodecResult<unknown>[]) : ([] as PayloadCodecResult<unknown>[]).concat(...parts);
    };
    return {
      decodeUplink: async (input) => (await decodeMany(KIND.decodeUplink, [input]))[0] as PayloadCodecResult<unknown>,
      decodeUplinks: (inputs) => {
        if (!Array.isArray(inputs)) throw new TypeError(`decodeUplinks: expected an array, got ${describe(inputs)}`);
        return decodeMany(KIND.decodeUplink, inputs);
      },
      decodeDownlink: async (input) => (await decodeMany(KIND.decodeDownlink, [input]))[0] as PayloadCodecResult<unknown>,
      encodeDownlink: async (input) => {
        if (typeof input !== 'object' || input === null) throw new TypeError(`encodeDownlink: expected { data }, got ${describe(input)}`);
        if (input.fPort !== undefined) assertInt(input.fPort, 'fPort', 1, 223);
        const wire = { data: input.data, ...(input.fPort !== undefined ? { fPort: input.fPort } : {}) };
        let json: string;
        try {
          json = JSON.stringify([wire]);
        } catch (e) {
          throw new TypeError(`encodeDownlink: data must be JSON-serialisable: ${(e as Error).message}`);
        }
        return settle(KIND.encodeDownlink, await this.call(KIND.encodeDownlink, 1, json, ''), 1, downlinkShape)[0] as PayloadCodecResult<EncodedDownlink>;
      },
      stats: () => ({ ...this.counters }),
      close: async () => {
        this.closed = true; // calls still in flight settle now (CODEC_CRASHED)
        await Promise.all(this.lanes.map((l) => l.close()));
      },
    };
  }
}
