// Wrong-type matrix: TypeError for a wrong type, RangeError for a bad value, messages naming the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBuffer, type EdgeBuffer } from '../src/index.js';
import { tempDir } from './helpers/tmp.js';

let dir: string;
let cleanup: () => Promise<void>;
let buf: EdgeBuffer;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  buf = await openBuffer({ dir, maxBytes: 1 << 20 });
});
afterAll(async () => {
  await buf.close();
  await cleanup();
});

const call = (fn: (...args: unknown[]) => unknown, ...args: unknown[]): Promise<unknown> => Promise.resolve().then(() => fn(...args));

describe('openBuffer options', () => {
  const base = (): Record<string, unknown> => ({ dir, maxBytes: 1 << 20 });
  it.each([
    ['options', undefined, TypeError, 'options: expected an object, found undefined'],
    ['options', 'dir', TypeError, 'options: expected an object, found string'],
    ['options', null, TypeError, 'options: expected an object, found null'],
  ])('%s = %j', async (_f, value, cls, msg) => {
    await expect(call(openBuffer as never, value)).rejects.toThrow(cls);
    await expect(call(openBuffer as never, value)).rejects.toThrow(msg);
  });

  it.each([
    ['dir', 42, TypeError, 'dir: expected a string, found number 42'],
    ['dir', '', RangeError, 'dir: expected a non-empty path'],
    ['maxBytes', '1mb', TypeError, 'maxBytes: expected a number, found string "1mb"'],
    ['maxBytes', 100, RangeError, 'maxBytes: expected an integer in 4096..'],
    ['maxBytes', 1.5e4 + 0.5, RangeError, 'maxBytes'],
    ['maxBytes', Number.NaN, RangeError, 'maxBytes'],
    ['maxRecords', 0, RangeError, 'maxRecords: expected an integer in 1..'],
    ['maxRecords', '5', TypeError, 'maxRecords: expected a number'],
    ['overflow', 'drop-newest', RangeError, "overflow: expected one of 'reject', 'drop-oldest', found 'drop-newest'"],
    ['overflow', true, TypeError, 'overflow: expected a string, found boolean'],
    ['durability', 'sync', RangeError, "durability: expected one of 'fsync', 'batch', 'none', found 'sync'"],
    ['durability', 1, TypeError, 'durability: expected a string'],
    ['segmentBytes', 10, RangeError, 'segmentBytes: expected an integer in 41..'],
    ['segmentBytes', 2 << 20, RangeError, 'segmentBytes'],
    ['maxRecordBytes', 0, RangeError, 'maxRecordBytes: expected an integer in 1..'],
    ['maxRecordBytes', 1 << 20, RangeError, 'maxRecordBytes'],
    ['maxRecordBytes', [], TypeError, 'maxRecordBytes: expected a number, found array'],
    ['maxBatchBytes', -1, RangeError, 'maxBatchBytes'],
    ['fs', 'node', TypeError, 'fs: expected a FileSystem object'],
    ['onEvent', {}, TypeError, 'onEvent: expected a function, found object'],
  ])('%s = %j → %s', async (field, value, cls, msg) => {
    const o = { ...base(), [field]: value };
    await expect(call(openBuffer as never, o)).rejects.toThrow(cls);
    await expect(call(openBuffer as never, o)).rejects.toThrow(msg);
  });
});

describe('methods', () => {
  it.each([
    ['append', [undefined], TypeError, 'append: payload: expected a Uint8Array, found undefined'],
    ['append', ['text'], TypeError, 'append: payload: expected a Uint8Array, found string "text"'],
    ['append', [[1, 2]], TypeError, 'found array'],
    ['append', [new ArrayBuffer(4)], TypeError, 'expected a Uint8Array'],
    ['append', [new Uint16Array(2)], TypeError, 'expected a Uint8Array'],
    ['ack', ['1'], TypeError, 'ack: seq: expected a number, found string "1"'],
    ['ack', [1n], TypeError, 'ack: seq: expected a number, found bigint'],
    ['ack', [-1], RangeError, 'ack: seq: expected a non-negative integer, found -1'],
    ['ack', [1.5], RangeError, 'found 1.5'],
    ['ack', [Number.POSITIVE_INFINITY], RangeError, 'found Infinity'],
    ['read', ['now'], TypeError, 'read: options: expected an object, found string'],
    ['read', [{ signal: 'x' }], TypeError, 'read: signal: expected an AbortSignal, found string'],
    ['drain', [undefined], TypeError, 'drain: send: expected a function, found undefined'],
    ['drain', [() => undefined, 3], TypeError, 'drain: options: expected an object, found number 3'],
    ['drain', [() => undefined, { maxInFlight: 0 }], RangeError, 'drain: maxInFlight: expected an integer in 1..65535, found 0'],
    ['drain', [() => undefined, { maxInFlight: '2' }], TypeError, 'drain: maxInFlight: expected a number'],
    ['drain', [() => undefined, { follow: 'yes' }], TypeError, 'drain: follow: expected a boolean'],
    ['drain', [() => undefined, { signal: {} }], TypeError, 'drain: signal: expected an AbortSignal'],
  ])('%s(#%#) → %s', async (method, args, cls, msg) => {
    const fn = (buf as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!.bind(buf);
    await expect(call(fn, ...args)).rejects.toThrow(cls);
    await expect(call(fn, ...args)).rejects.toThrow(msg);
  });

  it.each([
    [['nope', () => undefined], 'on: type: expected one of quarantine, truncate, damage, lost, drop, error, found string "nope"'],
    [['drop', 'fn'], 'on: listener: expected a function, found string'],
  ])('on(%j) → TypeError', (args, msg) => {
    expect(() => (buf.on as (...a: unknown[]) => unknown)(...args)).toThrow(TypeError);
    expect(() => (buf.on as (...a: unknown[]) => unknown)(...args)).toThrow(msg);
  });
});
