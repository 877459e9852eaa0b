// The small MQTT client interface the shadow clients and the service run on, and the adapter
// that fits it to an MQTT.js client or an Outpost DeviceClient (no runtime import of either).

import { describe } from './json.js';

/**
 * What `@outpost/shadow` needs from an MQTT client: `publish`, `subscribe`, `on('message')`,
 * `on('connect')` and, where it has one, `connected`. An MQTT.js 5 `MqttClient` and an
 * `@outpost/device-sdk` `DeviceClient` both fit as they are.
 *
 * - `publish(topic, payload, { qos })` may return a promise (DeviceClient) or take a callback
 *   (MQTT.js; its `publishAsync` is used when present).
 * - `on('message', …)` may call back with `(topic, payload)` (MQTT.js) or with one
 *   `{ topic, payload }` object (DeviceClient).
 *
 * @example
 * ```ts
 * import type { MqttLike } from '@outpost/shadow';
 * const accepts = (c: MqttLike): boolean => typeof c.publish === 'function';
 * ```
 */
export interface MqttLike {
  publish(topic: string, payload: string | Uint8Array, options?: { qos?: 0 | 1 }, callback?: (err?: Error | null) => void): unknown;
  subscribe(filters: string | string[], options?: { qos?: 0 | 1 }, callback?: (err: Error | null) => void): unknown;
  /** Optional: without it the app client cannot release subscriptions (they stay until the session ends). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  unsubscribe?(filters: string[], ...rest: any[]): unknown;
  // `any[]`: each client types its listeners differently ((topic, payload, packet) for
  // MQTT.js, (message) for DeviceClient); the adapter tells them apart at run time.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: 'message' | 'connect', listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off?(event: string, listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  removeListener?(event: string, listener: (...args: any[]) => void): unknown;
  readonly connected?: boolean;
}

/** The adapter's normalized view of an MQTT client. Internal. */
export interface Transport {
  publish(topic: string, payload: string | Uint8Array): Promise<void>;
  subscribe(filters: string[]): Promise<void>;
  /** Hands the UNSUBSCRIBE to the client synchronously (packet order after earlier SUBSCRIBEs); false when the client has no unsubscribe. */
  unsubscribe(filters: string[]): Promise<boolean>;
  onMessage(fn: (topic: string, payload: Uint8Array) => void): () => void;
  onConnect(fn: () => void): () => void;
  readonly connected: boolean;
}

type Any = Record<string, unknown> & MqttLike;

function listen(c: Any, event: 'message' | 'connect', fn: (...args: unknown[]) => void): () => void {
  const r = c.on(event, fn as never);
  if (typeof r === 'function') return r as () => void;
  return () => {
    if (typeof c.off === 'function') c.off(event, fn as never);
    else if (typeof c.removeListener === 'function') c.removeListener(event, fn as never);
  };
}

const encoder = new TextEncoder();

/** Fits an MQTT.js client or a DeviceClient to the {@link Transport} the package uses. */
export function toTransport(client: MqttLike, field = 'mqtt'): Transport {
  if (client === null || typeof client !== 'object' || typeof client.publish !== 'function' || typeof client.subscribe !== 'function' || typeof client.on !== 'function') {
    throw new TypeError(`${field}: expected an MQTT client with publish, subscribe and on (MQTT.js or @outpost/device-sdk), got ${describe(client)}`);
  }
  const c = client as Any;
  const publishAsync = typeof c['publishAsync'] === 'function' ? (c['publishAsync'] as (t: string, p: string | Uint8Array, o: object) => Promise<unknown>).bind(c) : undefined;
  const subscribeAsync = typeof c['subscribeAsync'] === 'function' ? (c['subscribeAsync'] as (f: string[], o: object) => Promise<unknown>).bind(c) : undefined;
  return {
    get connected() {
      return c.connected !== false;
    },
    async publish(topic, payload) {
      // MQTT.js wants a Buffer or a string; a Uint8Array view is given as a Buffer without copying.
      const body = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      if (publishAsync !== undefined) {
        await publishAsync(topic, body, { qos: 1 });
        return;
      }
      await new Promise<void>((resolve, reject) => {
        let settled = false;
        const r = c.publish(topic, body, { qos: 1 }, (err) => {
          if (settled) return;
          settled = true;
          if (err !== undefined && err !== null) reject(err); else resolve();
        });
        if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') {
          (r as Promise<unknown>).then(() => { if (!settled) { settled = true; resolve(); } }, (e: unknown) => { if (!settled) { settled = true; reject(e as Error); } });
        }
      });
    },
    async subscribe(filters) {
      if (subscribeAsync !== undefined) {
        const granted = await subscribeAsync(filters, { qos: 1 });
        if (Array.isArray(granted)) {
          const refused = granted.find((g: { qos?: unknown }) => typeof g?.qos === 'number' && g.qos >= 0x80) as { topic?: string } | undefined;
          if (refused !== undefined) throw new Error(`subscribe refused: ${String(refused.topic)}`);
        }
        return;
      }
      await new Promise<void>((resolve, reject) => {
        let settled = false;
        const r = c.subscribe(filters, { qos: 1 }, (err) => {
          if (settled) return;
          settled = true;
          if (err !== undefined && err !== null) reject(err); else resolve();
        });
        if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') {
          (r as Promise<unknown>).then(() => { if (!settled) { settled = true; resolve(); } }, (e: unknown) => { if (!settled) { settled = true; reject(e as Error); } });
        }
      });
    },
    async unsubscribe(filters) {
      // MQTT.js 5: unsubscribeAsync; DeviceClient: unsubscribe returns a promise. Either hands
      // the packet to the connection before returning.
      const r = typeof c['unsubscribeAsync'] === 'function'
        ? (c['unsubscribeAsync'] as (f: string[]) => unknown).call(c, filters)
        : typeof c.unsubscribe === 'function' ? c.unsubscribe(filters) : undefined;
      if (r === undefined && typeof c.unsubscribe !== 'function') return false;
      if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') await r;
      return true;
    },
    onMessage(fn) {
      return listen(c, 'message', (...args: unknown[]) => {
        const [a, b] = args;
        if (typeof a === 'string') fn(a, typeof b === 'string' ? encoder.encode(b) : (b as Uint8Array));
        else if (a !== null && typeof a === 'object' && typeof (a as { topic?: unknown }).topic === 'string') {
          const m = a as { topic: string; payload: Uint8Array | string };
          fn(m.topic, typeof m.payload === 'string' ? encoder.encode(m.payload) : m.payload);
        }
      });
    },
    onConnect(fn) {
      return listen(c, 'connect', () => fn());
    },
  };
}
