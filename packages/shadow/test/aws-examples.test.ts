// Worked examples of the AWS IoT Core Developer Guide, as data: "Device Shadow service
// documents" (request/response documents, delta, arrays, deleting properties, empty sections,
// versioning) and "Interacting with shadows" / "Using shadows" (the color/engine walk-through).
// The guide's prose is paraphrased; the JSON is the guide's, with timestamps fixed to test values.
import { describe, expect, it } from 'vitest';
import { applyUpdate, computeDelta, deleteShadow, getDocument, ShadowError, type ShadowRecord } from '../src/index.js';

const T = 1_600_000_000;

function run(steps: unknown[], start?: ShadowRecord): ShadowRecord {
  let r = start;
  steps.forEach((req, i) => { r = applyUpdate(r, req, { timestamp: T + i }).record; });
  return r!;
}

describe('AWS guide: "Using shadows" walk-through (color / engine)', () => {
  it('initial reported state, then a desired update: the delta carries both changed leaves with their paths', () => {
    const initial = run([{ state: { reported: { color: { r: 255, g: 255, b: 0 } } } }]);
    const up = applyUpdate(initial, { state: { desired: { color: { r: 10 }, engine: 'ON' } } }, { timestamp: T + 10 });
    expect(up.delta?.state).toEqual({ color: { r: 10 }, engine: 'ON' });
    expect(up.delta?.metadata).toEqual({ color: { r: { timestamp: T + 10 } }, engine: { timestamp: T + 10 } });
    expect(up.delta?.version).toBe(2);
    // The device applies it and reports: reported merges, and the delta is gone.
    const rep = applyUpdate(up.record, { state: { reported: { color: { r: 10 }, engine: 'ON' } } }, { timestamp: T + 11 });
    expect(rep.delta).toBeUndefined();
    const doc = getDocument(rep.record, { thingName: 'lamp' });
    expect(doc.state).toEqual({ desired: { color: { r: 10 }, engine: 'ON' }, reported: { color: { r: 10, g: 255, b: 0 }, engine: 'ON' } });
    expect(doc.version).toBe(3);
  });
});

describe('AWS guide: "Device Shadow service documents"', () => {
  it('delta: only desired leaves that differ; keys only in reported are not in it', () => {
    // { desired: {color: RED, state: STOP}, reported: {color: GREEN, engine: ON} } → delta {color: RED, state: STOP}
    expect(computeDelta({ color: 'RED', state: 'STOP' }, { color: 'GREEN', engine: 'ON' })).toEqual({ color: 'RED', state: 'STOP' });
  });

  it('delta of nested objects keeps the path to the root', () => {
    expect(computeDelta({ lights: { color: { r: 255, g: 255, b: 255 } } }, { lights: { color: { r: 255, g: 0, b: 255 } } })).toEqual({ lights: { color: { g: 255 } } });
  });

  it('a differing array appears whole in the delta', () => {
    expect(computeDelta({ colors: ['RED', 'GREEN', 'BLUE'] }, { colors: ['RED', 'GREEN'] })).toEqual({ colors: ['RED', 'GREEN', 'BLUE'] });
    expect(computeDelta({ colors: ['RED', 'GREEN'] }, { colors: ['RED', 'GREEN'] })).toBeUndefined();
  });

  it('arrays: an update replaces the whole array, it cannot change part of it', () => {
    const r = run([{ state: { desired: { colors: ['RED', 'GREEN', 'BLUE'] } } }, { state: { desired: { colors: ['RED'] } } }]);
    expect(r.state.desired).toEqual({ colors: ['RED'] });
    expect(r.metadata.desired).toEqual({ colors: [{ timestamp: T + 1 }] });
  });

  it('arrays cannot hold null: the request is rejected with 400', () => {
    let err: unknown;
    try { applyUpdate(undefined, { state: { desired: { colors: [null, 'RED', 'GREEN'] } } }, { timestamp: T }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ShadowError);
    expect((err as ShadowError).status).toBe(400);
  });

  it('deleting a property: null removes it (and its metadata)', () => {
    const r = run([{ state: { desired: { color: 'RED', engine: 'ON' } } }, { state: { desired: { color: null } } }]);
    expect(r.state.desired).toEqual({ engine: 'ON' });
    expect(r.metadata.desired).toEqual({ engine: { timestamp: T } });
  });

  it('empty sections: desired null clears the desired section', () => {
    const r = run([{ state: { desired: { color: 'RED' }, reported: { color: 'GREEN' } } }, { state: { desired: null } }]);
    expect(r.state).toEqual({ reported: { color: 'GREEN' } });
    expect(getDocument(r, { thingName: 'lamp' }).state.delta).toBeUndefined();
  });

  it('the accepted response echoes the request sections with metadata for what it touched', () => {
    const first = run([{ state: { reported: { color: 'GREEN' } } }]);
    const up = applyUpdate(first, { state: { desired: { color: 'RED', debug: null } }, clientToken: 'token', version: 1 }, { timestamp: T + 5 });
    expect(up.accepted).toEqual({
      state: { desired: { color: 'RED', debug: null } },
      metadata: { desired: { color: { timestamp: T + 5 }, debug: { timestamp: T + 5 } } },
      version: 2,
      timestamp: T + 5,
      clientToken: 'token',
    });
    expect(up.documents.previous?.version).toBe(1);
    expect(up.documents.current.state).toEqual({ desired: { color: 'RED' }, reported: { color: 'GREEN' } });
    expect(up.delta).toEqual({ state: { color: 'RED' }, metadata: { color: { timestamp: T + 5 } }, version: 2, timestamp: T + 5, clientToken: 'token' });
  });

  it('versioning: a version other than the current one is refused with 409 "Version conflict"', () => {
    const r = run([{ state: { desired: { color: 'RED' } } }, { state: { desired: { color: 'BLUE' } } }]);
    expect(r.version).toBe(2);
    let err: ShadowError | undefined;
    try { applyUpdate(r, { state: { desired: { color: 'GREEN' } }, version: 1, clientToken: 'x' }, { timestamp: T }); } catch (e) { err = e as ShadowError; }
    expect(err?.code).toBe('VERSION_CONFLICT');
    expect(err?.toErrorDocument(T)).toEqual({ code: 409, message: 'Version conflict', timestamp: T, clientToken: 'x' });
    expect(applyUpdate(r, { state: { desired: { color: 'GREEN' } }, version: 2 }, { timestamp: T }).record.version).toBe(3);
  });

  it('deleting a shadow does not reset its version; GET then answers 404', () => {
    const r = run([{ state: { desired: { a: 1 } } }, { state: { desired: { a: 2 } } }, { state: { desired: { a: 3 } } }]);
    const del = deleteShadow(r, { thingName: 'lamp', timestamp: T + 9, clientToken: 'd' });
    expect(del.accepted).toEqual({ version: 3, timestamp: T + 9, clientToken: 'd' });
    expect(() => getDocument(del.record, { thingName: 'lamp' })).toThrow(/No shadow exists with name: 'lamp'/);
    expect(() => deleteShadow(del.record, { thingName: 'lamp', timestamp: T })).toThrow(ShadowError);
    const again = applyUpdate(del.record, { state: { reported: { a: 0 } } }, { timestamp: T + 10 });
    expect(again.record.version).toBe(4);
    expect(again.documents.previous).toBeUndefined();
    expect(again.record.state).toEqual({ reported: { a: 0 } });
  });

  it('a reported-only update publishes no delta, even when desired and reported differ', () => {
    const r = run([{ state: { desired: { a: 1, b: 2 } } }]);
    const up = applyUpdate(r, { state: { reported: { a: 1 } } }, { timestamp: T });
    expect(up.delta).toBeUndefined();
    expect(getDocument(up.record, { thingName: 'lamp' }).state.delta).toEqual({ b: 2 });
  });

  it('a desired update publishes the whole delta, not only the keys it changed', () => {
    const r = run([{ state: { desired: { a: 1 } } }]);
    expect(applyUpdate(r, { state: { desired: { b: 2 } } }, { timestamp: T }).delta?.state).toEqual({ a: 1, b: 2 });
  });
});
