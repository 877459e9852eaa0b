// Store-and-forward in-process: the record codec (fuzzed), offline buffering against a real
// Mosquitto, and a permanently refused message that must not block the queue behind it.
import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { openBuffer } from '@outpost/edge-buffer';
import { tempDir } from '@outpost/test-peers';
import { connectDevice, DeviceError, type DeviceClient } from '@outpost/device-sdk';
import { decodeBufferedMessage, encodeBufferedMessage } from '../src/buffered.js';
import { startFleet, type Fleet } from './fixtures/fleet.js';

describe('buffered record codec', () => {
  test('round-trips', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), fc.uint8Array({ maxLength: 300 }), fc.constantFrom(1 as const, 2 as const), fc.boolean(), (topic, payload, qos, retain) => {
        const m = decodeBufferedMessage(encodeBufferedMessage({ topic, payload, qos, retain }));
        expect(m.topic).toBe(topic);
        expect([...m.payload]).toEqual([...payload]);
        expect(m.qos).toBe(qos);
        expect(m.retain).toBe(retain);
      }),
    );
  });
  test('fuzz: arbitrary bytes decode or fail with MALFORMED_RECORD, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeBufferedMessage(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(DeviceError);
          expect((err as DeviceError).code).toBe('MALFORMED_RECORD');
        }
      }),
      { numRuns: 5_000 },
    );
    // and it still works afterwards
    expect(decodeBufferedMessage(encodeBufferedMessage({ topic: 'a', payload: new Uint8Array([1]), qos: 1, retain: false })).topic).toBe('a');
  });
  test('annotated bytes', () => {
    const bytes = encodeBufferedMessage({ topic: 'ab', payload: new Uint8Array([9]), qos: 1, retain: true });
    // version 1 | flags: QoS 1 + retain (0x04) | topic length 2 (BE) | "ab" | payload
    expect([...bytes]).toEqual([0x01, 0x05, 0x00, 0x02, 0x61, 0x62, 0x09]);
  });
});

describe('store-and-forward against Mosquitto', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet();
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  function collect(c: DeviceClient): string[] {
    const got: string[] = [];
    c.on('message', (m) => got.push(new TextDecoder().decode(m.payload)));
    return got;
  }

  test('publishes made offline are durable at once and drain in order on reconnect', async () => {
    const dir = tempDir('outpost-sf-');
    const buffer = await openBuffer({ dir: dir.path, maxBytes: 1 << 20 });
    const creds = await fleet.device('sf-1');
    const app = await fleet.device('app-observer');
    const device = await connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, buffer, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    let observer: DeviceClient | undefined;
    try {
      const offline = new Promise<void>((r) => device.once('offline', () => r()));
      await fleet.broker.stop();
      await offline;
      for (let i = 0; i < 50; i++) await device.publish('devices/sf-1/seq', String(i), { qos: 1 });
      expect(device.stats().buffered).toBe(50);
      expect(buffer.stats().records).toBe(50);
      await fleet.broker.start();
      observer = await connectDevice({ url: fleet.url, cert: app.cert, key: app.key, ca: fleet.ca.certificatePem });
      const got = collect(observer);
      await observer.subscribe('devices/sf-1/seq');
      // Subscribed after the drain may have begun: publish a marker and wait for the tail.
      for (let i = 50; i < 60; i++) await device.publish('devices/sf-1/seq', String(i), { qos: 1 });
      while (device.stats().buffered > 0) await new Promise((r) => setTimeout(r, 10));
      while (!got.includes('59')) await new Promise((r) => setTimeout(r, 10));
      const nums = got.map(Number);
      expect(nums).toEqual([...nums].sort((a, b) => a - b)); // FIFO: never reordered
      expect(nums.at(-1)).toBe(59);
      expect(buffer.stats().records).toBe(0);
      expect(device.stats().messagesOut).toBe(60);
    } finally {
      await observer?.close();
      await device.close();
      await buffer.close();
      dir.cleanup();
    }
  });

  test('a message the broker refuses for good is dropped and reported, the queue behind it flows', async () => {
    const dir = tempDir('outpost-sf-');
    const buffer = await openBuffer({ dir: dir.path, maxBytes: 1 << 20 });
    const creds = await fleet.device('sf-2');
    const device = await connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, buffer });
    const errors: DeviceError[] = [];
    device.on('error', (e) => errors.push(e));
    try {
      await device.subscribe('devices/sf-2/#');
      const got = collect(device);
      await device.publish('devices/sf-2/t', 'before', { qos: 1 });
      await device.publish('devices/someone-else/t', 'denied', { qos: 1 }); // durable, then refused (0x87)
      await device.publish('devices/sf-2/t', 'after', { qos: 1 });
      while (!got.includes('after')) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual(['before', 'after']);
      expect(device.stats().bufferRejected).toBe(1);
      expect(errors.map((e) => e.code)).toEqual(['NOT_AUTHORIZED']);
      while (device.stats().buffered > 0) await new Promise((r) => setTimeout(r, 10));
    } finally {
      await device.close();
      await buffer.close();
      dir.cleanup();
    }
  });

  test('a drain that keeps failing (40 retry pauses) leaves no abort listener per pause', async () => {
    const dir = tempDir('outpost-sf-');
    const real = await openBuffer({ dir: dir.path, maxBytes: 1 << 20 });
    let fails = 0;
    // The buffer's drain fails 40 times (a transient error each), then works.
    const buffer = new Proxy(real, {
      get(t, k) {
        const v = Reflect.get(t, k, t) as unknown;
        if (k === 'drain') return (...a: unknown[]) => (fails < 40 ? (fails++, Promise.reject(new Error('transient'))) : (v as (...x: unknown[]) => unknown).apply(t, a));
        return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(t) : v;
      },
    });
    // The retry pause (1000 ms) runs at once on this clock; every other timer as the system's.
    const clock = { now: () => performance.now(), setTimer: (fn: () => void, ms: number) => (ms === 1_000 ? { i: setImmediate(fn) } : { t: setTimeout(fn, ms) }), clearTimer: (h: unknown) => { const x = h as { i?: NodeJS.Immediate; t?: NodeJS.Timeout } | undefined; if (x?.i !== undefined) clearImmediate(x.i); if (x?.t !== undefined) clearTimeout(x.t); } };
    const creds = await fleet.device('sf-4');
    const device = await connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, buffer, clock });
    device.on('error', () => undefined);
    try {
      while (fails < 40) await new Promise((r) => setTimeout(r, 10));
      const signal = (device as unknown as { drainAbort: AbortController }).drainAbort.signal;
      expect(getEventListeners(signal, 'abort').length).toBeLessThanOrEqual(2); // the drain's own, and the current pause's
    } finally {
      await device.close();
      await real.close();
      dir.cleanup();
    }
  });

  test('QoS 0 bypasses the buffer; a full buffer rejects with its own BUFFER_FULL', async () => {
    const dir = tempDir('outpost-sf-');
    const buffer = await openBuffer({ dir: dir.path, maxBytes: 1 << 20, maxRecords: 3, overflow: 'reject' });
    const creds = await fleet.device('sf-3');
    const device = await connectDevice({ url: fleet.url, cert: creds.cert, key: creds.key, ca: fleet.ca.certificatePem, buffer, reconnect: { initialDelayMs: 50, maxDelayMs: 100 } });
    try {
      await device.publish('devices/sf-3/t', 'q0', { qos: 0 });
      expect(buffer.stats().appended).toBe(0);
      const offline = new Promise<void>((r) => device.once('offline', () => r()));
      await fleet.broker.stop();
      await offline;
      for (let i = 0; i < 3; i++) await device.publish('devices/sf-3/t', String(i));
      const err = await device.publish('devices/sf-3/t', 'overflow').catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('BUFFER_FULL');
      await fleet.broker.start();
      while (device.stats().buffered > 0) await new Promise((r) => setTimeout(r, 10));
    } finally {
      await device.close();
      await buffer.close();
      dir.cleanup();
    }
  });
});
