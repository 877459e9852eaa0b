// The small MQTT client surface the stream server and the stream downloader need, fitted to an
// MQTT.js 5 client (publishAsync/subscribeAsync, (topic, payload) listeners) or an Outpost
// DeviceClient (promise publish/subscribe, ({ topic, payload }) listeners). No runtime import of either.
import { JobsError } from '../errors.js';
import { isNotAuthorized, NOT_AUTHORIZED_RC } from '../jobs-transport.js';

/**
 * What file delivery needs from an MQTT client. An MQTT.js 5 `MqttClient` and an
 * `@outpost/device-sdk` `DeviceClient` both fit as they are.
 *
 * @example
 * ```ts
 * import type { StreamMqtt } from '@outpost/jobs';
 * const fits = (c: StreamMqtt): boolean => typeof c.subscribe === 'function';
 * ```
 */
export interface StreamMqtt {
  publish(topic: string, payload: string | Uint8Array, options?: { qos?: 0 | 1 }, callback?: (err?: Error | null) => void): unknown;
  subscribe(filters: string | string[], options?: { qos?: 0 | 1 }, callback?: (err: Error | null) => void): unknown;
  // `any[]`: MQTT.js calls back with (topic, payload, packet), DeviceClient with one message object.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: 'message', listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off?(event: 'message', listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  removeListener?(event: 'message', listener: (...args: any[]) => void): unknown;
}

/** The normalized view used inside the package. */
export interface Link {
  publish(topic: string, payload: Uint8Array, qos: 0 | 1): Promise<void>;
  subscribe(filters: string[], qos: 0 | 1): Promise<void>;
  onMessage(fn: (topic: string, payload: Uint8Array) => void): () => void;
}

type Fn = (...a: unknown[]) => unknown;

function settle(call: (cb: (err?: Error | null) => void) => unknown): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const fin = (err?: Error | null): void => {
      if (done) return;
      done = true;
      if (err !== undefined && err !== null) reject(err); else resolve();
    };
    const r = call(fin);
    if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).then(() => fin(), (e: unknown) => fin(e as Error));
  });
}

/** Fits an MQTT.js client or a DeviceClient to {@link Link}. @throws TypeError for anything else. */
export function toLink(client: StreamMqtt, field = 'mqtt'): Link {
  if (client === null || typeof client !== 'object' || typeof client.publish !== 'function' || typeof client.subscribe !== 'function' || typeof client.on !== 'function') {
    throw new TypeError(`${field}: expected an MQTT client with publish, subscribe and on (MQTT.js or @outpost/device-sdk)`);
  }
  const c = client as StreamMqtt & Record<string, unknown>;
  const pubAsync = typeof c['publishAsync'] === 'function' ? (c['publishAsync'] as Fn).bind(c) : undefined;
  const subAsync = typeof c['subscribeAsync'] === 'function' ? (c['subscribeAsync'] as Fn).bind(c) : undefined;
  return {
    async publish(topic, payload, qos) {
      // MQTT.js wants a Buffer; a view is wrapped without copying.
      const body = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      try {
        if (pubAsync !== undefined) await pubAsync(topic, body, { qos });
        else await settle((cb) => c.publish(topic, body, { qos }, cb));
      } catch (err) {
        // MQTT 5 §3.4.2.1: PUBACK reason code 0x87. Sending it again cannot succeed.
        if (isNotAuthorized(err)) throw new JobsError('NOT_AUTHORIZED', `${topic}: the broker refused the PUBLISH as not authorized (reason code 0x87): this identity's ACL does not allow it`, { reasonCode: NOT_AUTHORIZED_RC, topic });
        throw err;
      }
    },
    async subscribe(filters, qos) {
      const granted = subAsync !== undefined ? await subAsync(filters, { qos }) : await settle((cb) => c.subscribe(filters, { qos }, cb));
      const refused = Array.isArray(granted) ? (granted as Array<{ qos?: unknown }>).find((g) => typeof g?.qos === 'number' && g.qos >= 0x80) : undefined;
      if (refused !== undefined) {
        // MQTT 5 §3.9.3 / 3.1.1 §3.9.3: a SUBACK return code ≥ 0x80 is a refusal (0x80 in 3.1.1, 0x87 Not authorized in 5).
        throw new JobsError('NOT_AUTHORIZED', `subscribe refused by the broker (return code 0x${(refused.qos as number).toString(16)}): ${filters.join(', ')}: this identity's ACL does not allow reading there`, { reasonCode: refused.qos as number, topic: filters.join(', ') });
      }
    },
    onMessage(fn) {
      const listener = (a: unknown, b?: unknown): void => {
        if (typeof a === 'string' && b instanceof Uint8Array) fn(a, b);
        else if (typeof a === 'object' && a !== null) {
          const m = a as { topic?: unknown; payload?: unknown };
          if (typeof m.topic === 'string' && m.payload instanceof Uint8Array) fn(m.topic, m.payload);
        }
      };
      const r = c.on('message', listener);
      if (typeof r === 'function') return r as () => void;
      return () => {
        if (typeof c.off === 'function') c.off('message', listener);
        else if (typeof c.removeListener === 'function') c.removeListener('message', listener);
      };
    },
  };
}
