// The stream downloader's window engine on injected timers: a quiet period re-asks exactly the
// pending blocks, `maxRetries` quiet periods end in TIMEOUT, an abort in ABORTED, a rejection
// with another client token is not ours. No broker: the link is a recorder, time is a counter.
import { expect, it } from 'vitest';
import { decodeGetStream, encodeDataBlock, encodeStreamRejection, JobsError, requestedBlocks } from '../src/index.js';
import { fetchBlocks, Inbox, type DeliveryTimers, type FetchCounters } from '../src/streams/fetch.js';

/** Timers that fire only when the test says so. */
function manualTimers(): DeliveryTimers & { fire(): void; armed(): number } {
  const pending = new Map<number, () => void>();
  let id = 0;
  return {
    setTimeout: (fn) => { pending.set(++id, fn); return id; },
    clearTimeout: (h) => { pending.delete(h as number); },
    fire: () => { const fns = [...pending.values()]; pending.clear(); for (const f of fns) f(); },
    armed: () => pending.size,
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function plan(o: { fileSize: number; maxRetries?: number; signal?: AbortSignal }) {
  const inbox = new Inbox();
  const timers = manualTimers();
  const asked: number[][] = [];
  const delivered: number[] = [];
  const counters: FetchCounters = { requests: 0, blocksReceived: 0, corruptBlocks: 0, duplicateBlocks: 0, timeouts: 0 };
  const run = fetchBlocks({
    link: {
      publish: async (_t, payload) => { asked.push(requestedBlocks(decodeGetStream(payload, 'cbor'), 1000)); },
      subscribe: async () => undefined,
      onMessage: () => () => undefined,
    },
    inbox, topicBase: 't', format: 'cbor', token: 'tok', version: 1, fileId: 0, blockSize: 256, fileSize: o.fileSize,
    startBlock: 0, window: 4, requestsInFlight: 2, timeoutMs: 1000, maxRetries: o.maxRetries ?? 3, timers, signal: o.signal, counters,
    deliver: async (i) => { delivered.push(i); },
  });
  const send = (i: number): void => inbox.push('data', encodeDataBlock({ c: 'tok', f: 0, l: 256, i, p: new Uint8Array(Math.min(256, o.fileSize - i * 256)) }, 'cbor'));
  return { run, timers, asked, delivered, counters, send, inbox };
}

it('a quiet period asks again for exactly the blocks still pending', async () => {
  const p = plan({ fileSize: 8 * 256 });
  await tick();
  expect(p.asked).toEqual([[0, 1, 2, 3]]);
  p.send(0); p.send(2); p.send(3);
  await tick();
  expect(p.asked[1]).toEqual([4, 5, 6, 7]); // the second window went out as the first drained
  for (const i of [4, 5, 6, 7]) p.send(i);
  await tick();
  const asks = p.asked.length;
  p.send(0); // a duplicate wakes the loop without progress: not a quiet period, nothing re-asked
  await tick();
  expect(p.counters).toMatchObject({ duplicateBlocks: 1, timeouts: 0 });
  expect(p.asked.length).toBe(asks);
  p.timers.fire(); // block 1 never came: a quiet period
  await tick();
  expect(p.counters.timeouts).toBe(1);
  expect(p.asked[p.asked.length - 1]).toEqual([1]);
  p.send(1);
  await p.run;
  expect(p.delivered).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
});

it('maxRetries quiet periods in a row end in TIMEOUT', async () => {
  const p = plan({ fileSize: 4 * 256, maxRetries: 2 });
  const result = p.run.catch((e: unknown) => e);
  for (let i = 0; i < 3; i++) {
    await tick();
    p.timers.fire();
  }
  const err = await result;
  expect(err).toBeInstanceOf(JobsError);
  expect((err as JobsError).code).toBe('TIMEOUT');
  expect(p.counters.timeouts).toBe(3);
});

it('an abort ends the transfer with ABORTED', async () => {
  const ac = new AbortController();
  const p = plan({ fileSize: 4 * 256, signal: ac.signal });
  await tick();
  ac.abort();
  expect(((await p.run.catch((e: unknown) => e)) as JobsError).code).toBe('ABORTED');
});

it('a rejection with another client token is ignored, ours ends the transfer', async () => {
  const p = plan({ fileSize: 2 * 256 });
  await tick();
  p.inbox.push('rejected', encodeStreamRejection({ c: 'other', o: 'Throttled', m: 'not yours' }, 'cbor'));
  p.send(0);
  await tick();
  expect(p.delivered).toEqual([0]);
  p.inbox.push('rejected', encodeStreamRejection({ c: 'tok', o: 'ResourceNotFound', m: 'gone' }, 'cbor'));
  const err = (await p.run.catch((e: unknown) => e)) as JobsError;
  expect(err.code).toBe('STREAM_REJECTED');
  expect(err.value).toMatchObject({ o: 'ResourceNotFound' });
});

it('a GetStream the broker refuses as not authorized ends the transfer at once with NOT_AUTHORIZED (no quiet periods, no re-ask)', async () => {
  const inbox = new Inbox();
  const timers = manualTimers();
  let publishes = 0;
  const counters: FetchCounters = { requests: 0, blocksReceived: 0, corruptBlocks: 0, duplicateBlocks: 0, timeouts: 0 };
  const run = fetchBlocks({
    link: {
      publish: async () => {
        publishes++;
        throw new JobsError('NOT_AUTHORIZED', 'refused', { reasonCode: 0x87 });
      },
      subscribe: async () => undefined,
      onMessage: () => () => undefined,
    },
    inbox, topicBase: 't', format: 'cbor', token: 'tok', version: 1, fileId: 0, blockSize: 256, fileSize: 4 * 256,
    startBlock: 0, window: 4, requestsInFlight: 1, timeoutMs: 1000, maxRetries: 3, timers, signal: undefined, counters,
    deliver: async () => undefined,
  });
  const err = await run.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(JobsError);
  expect((err as JobsError).code).toBe('NOT_AUTHORIZED');
  expect(publishes).toBe(1);
  expect(counters.timeouts).toBe(0);
  expect(timers.armed()).toBe(0);
});
