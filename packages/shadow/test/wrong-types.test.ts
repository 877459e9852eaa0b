// Wrong-type matrix: every public function, each argument replaced by values of the wrong
// type, must throw TypeError (or, for request data from the network, ShadowError 400), never
// anything else.
import { describe, expect, it } from 'vitest';
import {
  applyUpdate, checkShadowName, checkThingName, computeDelta, createShadowAppClient, createShadowClient, decodeRequest, deleteShadow,
  getDocument, mergePatches, openFileShadowStore, parseShadowTopic, shadowTopic, ShadowError, startShadowService, validateUpdateRequest,
  type MqttLike,
} from '../src/index.js';

const wrong: unknown[] = [undefined, null, 0, 1.5, NaN, '', 'str', true, [], [1], () => 1, Symbol('s'), 10n, new Uint8Array(1)];
const fakeMqtt: MqttLike = { publish: () => undefined, subscribe: () => undefined, on: () => undefined, connected: false };

function kind(fn: () => unknown): string {
  try { fn(); return 'ok'; } catch (e) { return e instanceof ShadowError ? `ShadowError:${e.code}` : (e as Error).constructor.name; }
}
async function kindAsync(fn: () => Promise<unknown>): Promise<string> {
  try { await fn(); return 'ok'; } catch (e) { return e instanceof ShadowError ? `ShadowError:${e.code}` : (e as Error).constructor.name; }
}

describe('wrong-type matrix', () => {
  const sync: Array<[string, (v: unknown) => unknown, readonly string[]]> = [
    ['applyUpdate(current)', (v) => applyUpdate(v as never, { state: {} }, { timestamp: 1 }), ['TypeError']],
    ['applyUpdate(request)', (v) => applyUpdate(undefined, v, { timestamp: 1 }), ['ShadowError:BAD_REQUEST']],
    ['applyUpdate(options)', (v) => applyUpdate(undefined, { state: {} }, v as never), ['TypeError']],
    ['applyUpdate(options.timestamp)', (v) => applyUpdate(undefined, { state: {} }, { timestamp: v as number }), ['TypeError']],
    ['validateUpdateRequest', (v) => validateUpdateRequest(v), ['ShadowError:BAD_REQUEST']],
    ['computeDelta(desired)', (v) => computeDelta(v as never, {}), ['TypeError']],
    ['computeDelta(reported)', (v) => computeDelta({ a: 1 }, v as never), ['TypeError']],
    ['mergePatches(first)', (v) => mergePatches(v as never, {}), ['TypeError']],
    ['mergePatches(second)', (v) => mergePatches({}, v as never), ['TypeError']],
    ['getDocument(record)', (v) => getDocument(v as never, { thingName: 't' }), ['TypeError']],
    ['deleteShadow(record)', (v) => deleteShadow(v as never, { thingName: 't', timestamp: 1 }), ['TypeError']],
    ['shadowTopic(thing)', (v) => shadowTopic(v as string, 'get'), ['TypeError', 'RangeError']],
    ['shadowTopic(op)', (v) => shadowTopic('t', v as never), ['RangeError']],
    ['shadowTopic(suffix)', (v) => shadowTopic('t', 'update', v as never), ['RangeError']],
    ['shadowTopic(shadowName)', (v) => shadowTopic('t', 'update', 'accepted', v as string), ['TypeError', 'RangeError']],
    ['parseShadowTopic', (v) => parseShadowTopic(v as string), ['TypeError']],
    ['checkThingName', (v) => checkThingName(v), ['TypeError', 'RangeError']],
    ['checkShadowName', (v) => checkShadowName(v), ['TypeError', 'RangeError']],
    ['decodeRequest', (v) => decodeRequest(v as never), ['TypeError', 'ShadowError:BAD_REQUEST']],
    ['createShadowAppClient(options)', (v) => createShadowAppClient(v as never), ['TypeError']],
    ['createShadowAppClient(mqtt)', (v) => createShadowAppClient({ mqtt: v as never }), ['TypeError']],
  ];
  for (const [name, call, allowed] of sync) {
    it(name, () => {
      for (const v of wrong) {
        if (name === 'applyUpdate(options.timestamp)' && v === 0) continue;
        if ((v === undefined && /\(current\)|\(desired\)|\(reported\)|\(suffix\)|\(shadowName\)|getDocument|deleteShadow/.test(name)) || (name === 'shadowTopic(suffix)' && v === undefined)) continue; // optional
        if (name === 'decodeRequest' && (v === '' || v === 'str')) continue; // strings are payloads
        if (name === 'parseShadowTopic' && (v === '' || v === 'str')) continue;
        if ((name === 'checkThingName' || name === 'checkShadowName' || name === 'shadowTopic(thing)' || name === 'shadowTopic(shadowName)') && v === 'str') continue;
        if (name === 'applyUpdate(request)' && Array.isArray(v) === false && v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) continue;
        expect(allowed, `${name} with ${String(typeof v)} ${Array.isArray(v) ? 'array' : ''}`).toContain(kind(() => call(v)));
      }
    });
  }

  const asyncCalls: Array<[string, (v: unknown) => Promise<unknown>]> = [
    ['createShadowClient(options)', (v) => createShadowClient(v as never)],
    ['createShadowClient(mqtt)', (v) => createShadowClient({ mqtt: v as never, thingName: 't' })],
    ['createShadowClient(thingName)', (v) => createShadowClient({ mqtt: fakeMqtt, thingName: v as string })],
    ['createShadowClient(buffer)', (v) => createShadowClient({ mqtt: fakeMqtt, thingName: 't', buffer: v as never })],
    ['startShadowService(options)', (v) => startShadowService(v as never)],
    ['startShadowService(mqtt)', (v) => startShadowService({ mqtt: v as never })],
    ['openFileShadowStore(options)', (v) => openFileShadowStore(v as never)],
    ['openFileShadowStore(dir)', (v) => openFileShadowStore({ dir: v as string })],
  ];
  for (const [name, call] of asyncCalls) {
    it(name, async () => {
      for (const v of wrong) {
        if (name === 'createShadowClient(buffer)' && v === undefined) continue;
        if ((name === 'openFileShadowStore(dir)' || name === 'createShadowClient(thingName)') && v === 'str') continue;
        const k = await kindAsync(() => call(v));
        expect(['TypeError', 'RangeError'], `${name} with ${typeof v}`).toContain(k);
      }
    });
  }
});
