// The jobs device API's topics and request decoding: AWS's documented request shapes, the
// strict checks, and a fuzz of the decoder (only outcomes, never a throw; still decodes after).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_JOBS_LIMITS, decodeJobsRequest, jobsRequestTopic, parseJobsRequestTopic, type JobsRequest } from '../src/index.js';

const enc = new TextEncoder();
const json = (v: unknown): Uint8Array => enc.encode(JSON.stringify(v));
const OPS: JobsRequest['operation'][] = ['get', 'start-next', 'describe', 'update'];

describe('request topics', () => {
  it.each([
    ['$aws/things/lamp-1/jobs/get', { operation: 'get', thingName: 'lamp-1' }],
    ['$aws/things/lamp-1/jobs/start-next', { operation: 'start-next', thingName: 'lamp-1' }],
    ['$aws/things/lamp-1/jobs/fw_2/get', { operation: 'describe', thingName: 'lamp-1', jobId: 'fw_2' }],
    ['$aws/things/lamp-1/jobs/$next/get', { operation: 'describe', thingName: 'lamp-1', jobId: '$next' }],
    ['$aws/things/a:b.c/jobs/fw_2/update', { operation: 'update', thingName: 'a:b.c', jobId: 'fw_2' }],
  ])('%s', (topic, parsed) => {
    expect(parseJobsRequestTopic(topic)).toEqual(parsed);
    expect(jobsRequestTopic(parsed as never)).toBe(topic);
  });
  it.each([
    '$aws/things/lamp/jobs/get/accepted', '$aws/things/lamp/jobs/notify', '$aws/things/lamp/jobs/notify-next',
    '$aws/things/lamp/jobs/$next/update', '$aws/things/lamp/jobs/a.b/update', `$aws/things/lamp/jobs/${'j'.repeat(65)}/get`,
    '$aws/things/la+mp/jobs/get', '$aws/things//jobs/get', '$aws/things/lamp/shadow/get', '$aws/things/lamp/jobs/x/update/accepted',
  ])('not a request: %s', (topic) => {
    expect(parseJobsRequestTopic(topic)).toBeUndefined();
  });
  it('answers go on /accepted and /rejected', () => {
    expect(jobsRequestTopic({ operation: 'update', thingName: 't', jobId: 'j' }, 'rejected')).toBe('$aws/things/t/jobs/j/update/rejected');
  });
});

describe('decoding (AWS IoT Core Developer Guide, "Jobs device MQTT API operations" request syntax)', () => {
  it('UpdateJobExecution with every field', () => {
    const out = decodeJobsRequest('update', json({
      status: 'IN_PROGRESS', statusDetails: { progress: '50%', 'step:name': 'download' }, expectedVersion: 3, executionNumber: 1,
      includeJobExecutionState: true, includeJobDocument: false, stepTimeoutInMinutes: 10, clientToken: 'ct-1',
    }));
    expect(out).toEqual({ ok: true, request: { operation: 'update', body: {
      status: 'IN_PROGRESS', statusDetails: { progress: '50%', 'step:name': 'download' }, expectedVersion: 3, executionNumber: 1,
      includeJobExecutionState: true, includeJobDocument: false, stepTimeoutInMinutes: 10, clientToken: 'ct-1',
    } } });
  });
  it('expectedVersion as the embedded SDK sends it (a decimal string)', () => {
    const out = decodeJobsRequest('update', json({ status: 'SUCCEEDED', expectedVersion: '2' }));
    expect(out.ok && out.request.operation === 'update' ? out.request.body.expectedVersion : undefined).toBe(2);
  });
  it('an empty payload is an empty request; stepTimeoutInMinutes -1 cancels', () => {
    expect(decodeJobsRequest('get', new Uint8Array(0))).toEqual({ ok: true, request: { operation: 'get', body: {} } });
    expect(decodeJobsRequest('start-next', json({ stepTimeoutInMinutes: -1 }))).toMatchObject({ ok: true });
  });
  it.each([
    ['update', '{"status":', 'InvalidJson'],
    ['update', '\u00ff', 'InvalidRequest'],
    ['get', '[1]', 'InvalidRequest'],
    ['update', '{}', 'InvalidRequest'],
    ['update', '{"status":"QUEUED"}', 'InvalidRequest'],
    ['update', '{"status":"TIMED_OUT"}', 'InvalidRequest'],
    ['update', '{"status":"SUCCEEDED","expectedVersion":-1}', 'InvalidRequest'],
    ['update', '{"status":"SUCCEEDED","expectedVersion":1.5}', 'InvalidRequest'],
    ['update', '{"status":"SUCCEEDED","stepTimeoutInMinutes":10081}', 'InvalidRequest'],
    ['update', '{"status":"SUCCEEDED","stepTimeoutInMinutes":0}', 'InvalidRequest'],
    ['update', '{"status":"SUCCEEDED","statusDetails":{"k":1}}', 'InvalidRequest'],
    ['update', '{"status":"SUCCEEDED","statusDetails":{"k":""}}', 'InvalidRequest'],
    ['update', '{"status":"SUCCEEDED","statusDetails":{"k":"a\\u0000b"}}', 'InvalidRequest'],
    ['update', '{"status":"SUCCEEDED","statusDetails":{"bad key":"v"}}', 'InvalidRequest'],
    ['update', '{"status":"SUCCEEDED","statusDetails":[]}', 'InvalidRequest'],
    ['update', '{"status":"SUCCEEDED","bogus":1}', 'InvalidRequest'],
    ['describe', '{"includeJobDocument":"yes"}', 'InvalidRequest'],
    ['get', '{"__proto__":{}}', 'InvalidRequest'],
  ] as const)('%s %s → %s', (op, text, code) => {
    const out = decodeJobsRequest(op, text === '\u00ff' ? new Uint8Array([0x7b, 0xff, 0x7d]) : enc.encode(text));
    expect(out.ok ? 'ok' : out.code).toBe(code === 'InvalidRequest' && text === '\u00ff' ? 'InvalidJson' : code);
  });
  it('echoes a valid clientToken with a rejection, never an oversized one', () => {
    const bad = decodeJobsRequest('update', json({ status: 'X', clientToken: 't'.repeat(64) }));
    expect(bad).toMatchObject({ ok: false, code: 'InvalidRequest', clientToken: 't'.repeat(64) });
    const long = decodeJobsRequest('get', json({ clientToken: 't'.repeat(65) }));
    expect(long).toMatchObject({ ok: false, code: 'InvalidRequest' });
    expect('clientToken' in long).toBe(false);
    const multibyte = decodeJobsRequest('get', json({ clientToken: 'é'.repeat(33) })); // 66 bytes
    expect(multibyte.ok).toBe(false);
  });
  it('statusDetails: at most maxStatusDetails entries, values at most 1024 characters', () => {
    const many = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v']));
    expect(decodeJobsRequest('update', json({ status: 'IN_PROGRESS', statusDetails: many })).ok).toBe(false);
    expect(decodeJobsRequest('update', json({ status: 'IN_PROGRESS', statusDetails: many }), { ...DEFAULT_JOBS_LIMITS, maxStatusDetails: 11 }).ok).toBe(true);
    expect(decodeJobsRequest('update', json({ status: 'IN_PROGRESS', statusDetails: { k: 'v'.repeat(1024) } })).ok).toBe(true);
    expect(decodeJobsRequest('update', json({ status: 'IN_PROGRESS', statusDetails: { k: 'v'.repeat(1025) } })).ok).toBe(false);
  });
  it('a request over maxRequestBytes is refused before parsing', () => {
    const big = json({ status: 'IN_PROGRESS', statusDetails: { k: 'v'.repeat(2000) } });
    expect(decodeJobsRequest('update', big, { ...DEFAULT_JOBS_LIMITS, maxRequestBytes: 1000 })).toMatchObject({ ok: false, code: 'InvalidRequest', message: expect.stringMatching(/exceeds 1000/) });
  });
  it('wrong types throw TypeError', () => {
    expect(() => decodeJobsRequest('get', 'x' as never)).toThrow(TypeError);
    expect(() => parseJobsRequestTopic(7 as never)).toThrow(TypeError);
  });
});

describe('fuzz', () => {
  const good = json({ status: 'SUCCEEDED', expectedVersion: 1, clientToken: 'x' });
  it('random bytes: an outcome, never a throw; the decoder still works afterwards', () => {
    fc.assert(fc.property(fc.constantFrom(...OPS), fc.uint8Array({ maxLength: 300 }), (op, bytes) => {
      const out = decodeJobsRequest(op, bytes);
      expect(typeof out.ok).toBe('boolean');
      if (!out.ok) expect(['InvalidJson', 'InvalidRequest']).toContain(out.code);
      expect(decodeJobsRequest('update', good).ok).toBe(true);
    }), { numRuns: 2000 });
  });
  it('random JSON objects with the known field names: an outcome; accepted ones re-encode to the same request', () => {
    const field = fc.constantFrom('status', 'statusDetails', 'expectedVersion', 'executionNumber', 'includeJobDocument', 'includeJobExecutionState', 'stepTimeoutInMinutes', 'clientToken', 'other');
    const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED', 'QUEUED', -1, 1, 10080), fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }));
    fc.assert(fc.property(fc.constantFrom(...OPS), fc.dictionary(field, value, { maxKeys: 6 }), (op, obj) => {
      const out = decodeJobsRequest(op, json(obj));
      if (out.ok) {
        const again = decodeJobsRequest(op, json(out.request.body));
        expect(again).toEqual(out);
      } else expect(['InvalidJson', 'InvalidRequest']).toContain(out.code);
    }), { numRuns: 2000 });
  });
});
