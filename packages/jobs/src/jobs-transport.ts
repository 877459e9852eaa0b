// The small MQTT client interface the jobs service and clients run on, fitted to an MQTT.js 5
// client or an @outpost/device-sdk DeviceClient at run time (no import of either).

/**
 * What `@outpost/jobs` needs from an MQTT client. An MQTT.js 5 `MqttClient` and an
 * `@outpost/device-sdk` `DeviceClient` both fit as they are: `publish` may return a promise or
 * take a callback; `on('message')` may call back with `(topic, payload)` or one `{ topic, payload }`.
 *
 * @example
 * ```ts
 * import type { MqttLike } from '@outpost/jobs';
 * const usable = (c: MqttLike): boolean => typeof c.subscribe === 'function';
 * ```
 */
export interface MqttLike {
  publish(topic: string, payload: string | Uint8Array, options?: { qos?: 0 | 1 }, callback?: (err?: Error | null) => void): unknown;
  subscribe(filters: string | string[], options?: { qos?: 0 | 1 }, callback?: (err: Error | null) => void): unknown;
  // `any[]`: MQTT.js calls back (topic, payload, packet), DeviceClient (message); told apart at run time.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: 'message' | 'connect', listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off?(event: string, listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  removeListener?(event: string, listener: (...args: any[]) => void): unknown;
  readonly connected?: boolean;
}

/** The normalized view of an MQTT client. @internal */
export interface Link {
  publish(topic: string, payload: string): Promise<void>;
  subscribe(filters: string[]): Promise<void>;
  onMessage(fn: (topic: string, payload: Uint8Array) => void): () => void;
  onConnect(fn: () => void): () => void;
  readonly connected: boolean;
}

const encoder = new TextEncoder();

/** Settles on the callback or on a returned promise, whichever comes first. */
function callOrAwait(call: (cb: (err?: Error | null) => void) => unknown): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err as Error); else resolve();
    };
    const r = call((err) => settle(err));
    if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).then(() => settle(), settle);
  });
}

/** MQTT 5 §2.4 reason code 0x87, Not authorized. @internal */
export const NOT_AUTHORIZED_RC = 0x87;

/**
 * Whether a failed publish is the broker's "not authorized" (PUBACK reason code 0x87): an
 * `@outpost/device-sdk` DeviceError `NOT_AUTHORIZED`, or MQTT.js's error whose `code` is the
 * reason code. @internal
 */
export function isNotAuthorized(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const e = err as { code?: unknown; reasonCode?: unknown };
  return e.code === 'NOT_AUTHORIZED' || e.code === NOT_AUTHORIZED_RC || e.reasonCode === NOT_AUTHORIZED_RC;
}

/** Fits an MQTT.js client or a DeviceClient to a {@link Link}. @internal */
export function toLink(client: MqttLike, field: string): Link {
  if (client === null || typeof client !== 'object' || typeof client.publish !== 'function' || typeof client.subscribe !== 'function' || typeof client.on !== 'function') {
    throw new TypeError(`${field}: expected an MQTT client with publish, subscribe and on (MQTT.js or @outpost/device-sdk)`);
  }
  const listen = (event: 'message' | 'connect', fn: (...args: unknown[]) => void): (() => void) => {
    const r = client.on(event, fn);
    if (typeof r === 'function') return r as () => void;
    return () => {
      if (typeof client.off === 'function') client.off(event, fn);
      else client.removeListener?.(event, fn);
    };
  };
  return {
    get connected() {
      return client.connected !== false;
    },
    publish: (topic, payload) => callOrAwait((cb) => client.publish(topic, payload, { qos: 1 }, cb)),
    async subscribe(filters) {
      const c = client as unknown as { subscribeAsync?: (f: string[], o: object) => Promise<unknown> };
      if (typeof c.subscribeAsync === 'function') {
        const granted = await c.subscribeAsync(filters, { qos: 1 });
        const refused = Array.isArray(granted) ? granted.find((g: { qos?: unknown }) => typeof g?.qos === 'number' && g.qos >= 0x80) : undefined;
        if (refused !== undefined) throw new Error(`subscribe refused: ${String((refused as { topic?: string }).topic)}`);
        return;
      }
      await callOrAwait((cb) => client.subscribe(filters, { qos: 1 }, cb));
    },
    onMessage: (fn) =>
      listen('message', (a: unknown, b: unknown) => {
        if (typeof a === 'string') fn(a, typeof b === 'string' ? encoder.encode(b) : (b as Uint8Array));
        else if (a !== null && typeof a === 'object' && typeof (a as { topic?: unknown }).topic === 'string') {
          const m = a as { topic: string; payload: Uint8Array | string };
          fn(m.topic, typeof m.payload === 'string' ? encoder.encode(m.payload) : m.payload);
        }
      }),
    onConnect: (fn) => listen('connect', () => fn()),
  };
}
