// Pure parts of the client: backoff, the in-flight window, option validation, error mapping.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { connectDevice, DEFAULT_RECONNECT_POLICY, DeviceError, reconnectDelay } from '@outpost/device-sdk';
import { InFlightWindow } from '../src/flow.js';
import { mapTransportError, connackError } from '../src/error-map.js';

describe('reconnectDelay (full jitter)', () => {
  test('the documented example', () => {
    expect(reconnectDelay(3, DEFAULT_RECONNECT_POLICY, () => 0.5)).toBe(4_000);
  });
  test('stays within [0, min(max, initial·2^n)) for every attempt and random value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 1_000_000 }), (n, r, initial, extra) => {
        const policy = { ...DEFAULT_RECONNECT_POLICY, initialDelayMs: initial, maxDelayMs: initial + extra };
        const d = reconnectDelay(n, policy, () => r);
        const cap = Math.min(policy.maxDelayMs, initial * 2 ** Math.min(n, 60));
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(cap);
        expect(Number.isInteger(d)).toBe(true);
      }),
    );
  });
  test('the window doubles until the cap', () => {
    const top = (n: number): number => reconnectDelay(n, DEFAULT_RECONNECT_POLICY, () => 0.999_999);
    expect([0, 1, 2, 3].map(top)).toEqual([999, 1_999, 3_999, 7_999]);
    expect(top(20)).toBe(119_999);
  });
  test('a bad attempt number is a RangeError', () => {
    expect(() => reconnectDelay(-1, DEFAULT_RECONNECT_POLICY)).toThrow(RangeError);
    expect(() => reconnectDelay(1.5, DEFAULT_RECONNECT_POLICY)).toThrow(RangeError);
  });
});

describe('InFlightWindow', () => {
  test('admits up to max, queues in FIFO order, bounded waiters', async () => {
    const w = new InFlightWindow(2, 2);
    w.setOpen(true);
    await w.acquire();
    await w.acquire();
    const order: number[] = [];
    const a = w.acquire().then(() => order.push(1));
    const b = w.acquire().then(() => order.push(2));
    await expect(w.acquire()).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    expect(w.size).toBe(2);
    expect(w.waiting).toBe(2);
    w.release();
    w.release();
    await Promise.all([a, b]);
    expect(order).toEqual([1, 2]);
    expect(w.size).toBe(2);
  });
  test('a closed window (offline) holds everyone; opening releases them', async () => {
    const w = new InFlightWindow(5, 10);
    let admitted = 0;
    const ps = [w.acquire(), w.acquire()].map((p) => p.then(() => admitted++));
    await Promise.resolve();
    expect(admitted).toBe(0);
    w.setOpen(true);
    await Promise.all(ps);
    expect(admitted).toBe(2);
  });
  test('abort removes a waiter; failAll rejects the rest', async () => {
    const w = new InFlightWindow(1, 10);
    w.setOpen(true);
    await w.acquire();
    const ac = new AbortController();
    const aborted = w.acquire(ac.signal);
    const other = w.acquire();
    ac.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    expect(w.waiting).toBe(1);
    w.failAll(new DeviceError('CLOSED', 'closed'));
    await expect(other).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('error mapping', () => {
  test('TLS verification codes of the broker certificate', () => {
    for (const code of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'ERR_TLS_CERT_ALTNAME_INVALID']) {
      expect(mapTransportError(Object.assign(new Error('x'), { code }), 5).code).toBe('SERVER_CERT_UNTRUSTED');
    }
  });
  test('alerts from the broker about our certificate', () => {
    expect(mapTransportError(Object.assign(new Error('alert'), { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }), 5).code).toBe('CERT_REQUIRED');
    expect(mapTransportError(Object.assign(new Error('alert'), { code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' }), 5).code).toBe('CERT_UNTRUSTED');
    expect(mapTransportError(Object.assign(new Error('alert'), { code: 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED' }), 5).code).toBe('CERT_EXPIRED');
  });
  test('CONNACK codes: 3.1.1 and 5', () => {
    expect(connackError(5, 4)).toMatchObject({ code: 'NOT_AUTHORIZED', reasonCode: 5 });
    expect(connackError(0x87, 5)).toMatchObject({ code: 'NOT_AUTHORIZED', reasonCode: 0x87 });
    expect(connackError(0x88, 5)).toMatchObject({ code: 'CONNECTION_REFUSED', reasonCode: 0x88 });
    expect(connackError(3, 4).message).toContain('server unavailable');
    expect(mapTransportError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 5).code).toBe('NETWORK_ERROR');
  });
});

describe('connectDevice: wrong types and insecure defaults', () => {
  const cert = '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----';
  const base = { url: 'mqtts://127.0.0.1:1', cert, key: cert, ca: cert };
  const typeCases: Array<[string, unknown]> = [
    ['options', null],
    ['options', 'mqtts://x'],
    ['url', { ...base, url: 42 }],
    ['cert', { ...base, cert: 42 }],
    ['key', { ...base, key: {} }],
    ['ca', { ...base, ca: [cert, 7] }],
    ['clientId', { ...base, clientId: 1 }],
    ['insecure', { ...base, insecure: 'yes' }],
    ['protocolVersion', { ...base, protocolVersion: '5' }],
    ['keepAliveS', { ...base, keepAliveS: '60' }],
    ['cleanSession', { ...base, cleanSession: 1 }],
    ['maxInFlight', { ...base, maxInFlight: '100' }],
    ['reconnect', { ...base, reconnect: 'always' }],
    ['reconnect.maxDelayMs', { ...base, reconnect: { maxDelayMs: '1' } }],
    ['servername', { ...base, servername: 1 }],
    ['alpnProtocols', { ...base, alpnProtocols: 'x' }],
    ['will', { ...base, will: 'x' }],
    ['will.topic', { ...base, will: { topic: 1, payload: 'x' } }],
    ['signal', { ...base, signal: {} }],
    ['random', { ...base, random: 0.5 }],
  ];
  test.each(typeCases)('%s of the wrong type is a TypeError', async (field, opts) => {
    const err = await connectDevice(opts as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toContain(field === 'options' ? 'options' : field.split('.')[0]);
  });
  const rangeCases: Array<[string, unknown]> = [
    ['url', { ...base, url: 'not a url' }],
    ['url', { ...base, url: 'http://x' }],
    ['protocolVersion', { ...base, protocolVersion: 3 }],
    ['keepAliveS', { ...base, keepAliveS: 70_000 }],
    ['maxInFlight', { ...base, maxInFlight: 0 }],
    ['connectTimeoutMs', { ...base, connectTimeoutMs: 1.5 }],
    ['reconnect.maxDelayMs', { ...base, reconnect: { initialDelayMs: 10, maxDelayMs: 5 } }],
    ['clientId', { ...base, clientId: '' }],
  ];
  test.each(rangeCases)('%s out of range is a RangeError', async (field, opts) => {
    const err = await connectDevice(opts as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toContain(field.split('.')[0]);
  });
  test('missing credentials are CERT_REQUIRED; plain mqtt:// needs insecure: true', async () => {
    await expect(connectDevice({ url: 'mqtts://127.0.0.1:1', ca: cert })).rejects.toMatchObject({ code: 'CERT_REQUIRED' });
    await expect(connectDevice({ url: 'mqtts://127.0.0.1:1', cert, key: cert })).rejects.toMatchObject({ code: 'CERT_REQUIRED' });
    await expect(connectDevice({ url: 'mqtt://127.0.0.1:1', cert, key: cert, ca: cert })).rejects.toMatchObject({ code: 'CERT_REQUIRED' });
    await expect(connectDevice({ url: 'mqtt://127.0.0.1:1', insecure: true })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
  test('an unparsable certificate is CERT_INVALID, before any socket is opened', async () => {
    await expect(connectDevice(base)).rejects.toMatchObject({ code: 'CERT_INVALID' });
  });
  test('insecure over plain TCP to a closed port fails with NETWORK_ERROR', async () => {
    await expect(connectDevice({ url: 'mqtt://127.0.0.1:1', insecure: true, clientId: 'dev', reconnect: false })).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
  });
});
