// Merging reported patches while offline. Two AWS update patches a then b merge into one only
// when sending the merge has exactly the effect of sending a and then b.

import { clone, describe, isObject, setKey, type JsonObject } from './json.js';

/**
 * Merges two update patches into one that has the same effect as applying `first` and then
 * `second` to any shadow section, or returns `undefined` when no single patch can: that is when
 * `first` sets a key to a scalar, an array or `null` and `second` sets the same key to an
 * object (AWS would merge that object into the stored value, not into `first`'s).
 *
 * @throws TypeError when an argument is not an object.
 * @example
 * ```ts
 * import { mergePatches } from '@outpost/shadow';
 * mergePatches({ a: 1, cfg: { x: 1 } }, { cfg: { y: 2 }, b: null }); // { a: 1, cfg: { x: 1, y: 2 }, b: null }
 * mergePatches({ cfg: null }, { cfg: { y: 2 } }); // undefined
 * ```
 */
export function mergePatches(first: JsonObject, second: JsonObject): JsonObject | undefined {
  if (!isObject(first)) throw new TypeError(`mergePatches: first: expected an object, got ${describe(first)}`);
  if (!isObject(second)) throw new TypeError(`mergePatches: second: expected an object, got ${describe(second)}`);
  const out = clone(first);
  for (const [k, b] of Object.entries(second)) {
    if (!Object.hasOwn(out, k)) {
      setKey(out, k, clone(b));
      continue;
    }
    const a = out[k];
    if (isObject(b)) {
      if (!isObject(a)) return undefined;
      const m = mergePatches(a, b);
      if (m === undefined) return undefined;
      setKey(out, k, m);
    } else setKey(out, k, clone(b));
  }
  return out;
}

/** One group of merged patches and the highest buffer seq it covers. Internal. */
export interface PendingGroup {
  patch: JsonObject;
  seq: number | undefined;
  inFlight: boolean;
}

/** Adds a patch to the pending list, merging into the last group when exact and not in flight. */
export function addPending(list: PendingGroup[], patch: JsonObject, seq: number | undefined): void {
  const last = list[list.length - 1];
  if (last !== undefined && !last.inFlight) {
    const merged = mergePatches(last.patch, patch);
    if (merged !== undefined) {
      last.patch = merged;
      if (seq !== undefined) last.seq = seq;
      return;
    }
  }
  list.push({ patch: clone(patch), seq, inFlight: false });
}

/** The pending patches folded into one view (nulls drop keys), for display and delta filtering. */
export function pendingView(list: readonly PendingGroup[]): JsonObject | undefined {
  if (list.length === 0) return undefined;
  const out: JsonObject = {};
  const apply = (target: JsonObject, patch: JsonObject): void => {
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete target[k];
      else if (isObject(v)) {
        const cur = Object.hasOwn(target, k) ? target[k] : undefined;
        const t: JsonObject = isObject(cur) ? cur : {};
        setKey(target, k, t);
        apply(t, v);
      } else setKey(target, k, clone(v));
    }
  };
  for (const g of list) apply(out, g.patch);
  return out;
}
