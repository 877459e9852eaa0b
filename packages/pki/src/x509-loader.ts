// Loads @peculiar/x509 lazily. Its dependency tsyringe throws at import time unless a Reflect
// metadata polyfill (reflect-metadata, core-js) is installed: @peculiar/x509's README asks every
// app to import one first. We do not want to make that every Outpost user's problem, nor add a
// dependency, so before the first import we add the three functions tsyringe calls
// (defineMetadata, getMetadata, getOwnMetadata) — only if they are missing, so a real polyfill
// loaded by the app always wins. The import is dynamic on purpose: a static import would be
// hoisted above this code in the bundled build and throw before the shim exists.

import type * as X509 from '@peculiar/x509';

type MetadataStore = WeakMap<object, Map<unknown, unknown>>;

interface ReflectMetadata {
  defineMetadata?: (key: unknown, value: unknown, target: object) => void;
  getMetadata?: (key: unknown, target: object) => unknown;
  getOwnMetadata?: (key: unknown, target: object) => unknown;
}

function ensureReflectMetadata(): void {
  const r = Reflect as unknown as ReflectMetadata;
  if (typeof r.getMetadata === 'function') return;
  const store: MetadataStore = new WeakMap();
  const own = (key: unknown, target: object): unknown => store.get(target)?.get(key);
  r.defineMetadata = (key, value, target) => {
    let m = store.get(target);
    if (m === undefined) store.set(target, (m = new Map()));
    m.set(key, value);
  };
  r.getOwnMetadata = own;
  r.getMetadata = (key, target) => {
    for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t) as object | null) {
      const v = own(key, t);
      if (v !== undefined) return v;
    }
    return undefined;
  };
}

let loading: Promise<typeof X509> | undefined;

/** The @peculiar/x509 module, loaded once. */
export function loadX509(): Promise<typeof X509> {
  if (loading === undefined) {
    ensureReflectMetadata();
    loading = import('@peculiar/x509');
  }
  return loading;
}
