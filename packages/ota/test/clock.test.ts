// systemClock.sleep: one abort listener per sleep, removed when the timer fires; an abort settles it.
import { getEventListeners } from 'node:events';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { sleepUnlessAborted } from '../src/clock.js';
import { systemClock, type Clock } from '../src/index.js';

/** 'settled' if `p` settles within a few event-loop turns, else 'pending' (no wall-clock timing). */
async function state(p: Promise<unknown>): Promise<'settled' | 'pending'> {
  let s: 'settled' | 'pending' = 'pending';
  p.then(() => (s = 'settled'), () => (s = 'settled'));
  for (let i = 0; i < 5 && s === 'pending'; i++) await turn();
  return s;
}

describe('systemClock.sleep', () => {
  it('removes its abort listener when the timer fires: 50 sleeps on one signal leave none', async () => {
    const ac = new AbortController();
    for (let i = 0; i < 50; i++) {
      await systemClock.sleep(0, ac.signal);
      expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    }
  });
  it('holds exactly one listener while it waits', async () => {
    const ac = new AbortController();
    const p = systemClock.sleep(60_000, ac.signal);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    ac.abort(new Error('stop'));
    expect(await state(p)).toBe('settled');
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });
  it('resolves (does not reject) at once when the signal aborts mid-sleep', async () => {
    const ac = new AbortController();
    const p = systemClock.sleep(60_000, ac.signal);
    expect(await state(p)).toBe('pending');
    ac.abort(new Error('stop'));
    expect(await state(p)).toBe('settled');
    await expect(p).resolves.toBeUndefined();
  });
  it('an already-aborted signal: resolves at once and adds no listener', async () => {
    const ac = new AbortController();
    ac.abort();
    const p = systemClock.sleep(60_000, ac.signal);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    expect(await state(p)).toBe('settled');
  });
});

describe('sleepUnlessAborted (the rollout and agent loops)', () => {
  it('a clock that never settles on abort: ends on the abort, and 50 waits leave no listener on the caller signal', async () => {
    const stuck: Clock = { now: () => 0, sleep: () => new Promise<void>(() => undefined) };
    const ac = new AbortController();
    for (let i = 0; i < 50; i++) {
      const fast: Clock = { now: () => 0, sleep: () => Promise.resolve() };
      await sleepUnlessAborted(fast, 1000, ac.signal);
    }
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    const p = sleepUnlessAborted(stuck, 60_000, ac.signal);
    expect(await state(p)).toBe('pending');
    ac.abort();
    expect(await state(p)).toBe('settled');
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });
});
