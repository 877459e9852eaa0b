// MQTT 5 request/response (MQTT 5 §4.10): publish with a Response Topic and fresh Correlation
// Data, and wait for the message on the response topic that carries the same Correlation Data.
import { randomBytes } from 'node:crypto';
import { checkTopicName, publishProperties, qosOf, signalOf } from './client-args.js';
import { DeviceError } from './errors.js';
import { abortError } from './flow.js';
import type { InboundMessage, PublishOptions, QoS, RequestOptions } from './client-types.js';
import { describe } from './describe.js';

/** What {@link sendRequest} needs of the client (the DeviceClient's public surface and clock). */
export interface RequestHost {
  readonly protocolVersion: 4 | 5;
  readonly clock: { setTimer(fn: () => void, ms: number): unknown; clearTimer(t: unknown): void };
  subscribe(filter: string, options: { qos: QoS }): Promise<unknown>;
  unsubscribe(filter: string): Promise<void>;
  publish(topic: string, payload: Uint8Array | string, options: PublishOptions): Promise<void>;
  on(event: 'message', fn: (m: InboundMessage) => void): () => void;
  /** Subscriptions held by requests, per response topic (shared by concurrent requests). */
  readonly requestSubscriptions: Map<string, number>;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < b.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Sends one request and resolves with its answer. */
export async function sendRequest(host: RequestHost, topic: string, payload: Uint8Array | string, options: RequestOptions): Promise<InboundMessage> {
  if (typeof options !== 'object' || options === null) throw new TypeError(`request: options: expected { responseTopic }, got ${describe(options)}`);
  checkTopicName('request', topic);
  checkTopicName('request', options.responseTopic);
  if (host.protocolVersion !== 5) throw new RangeError('request: needs MQTT 5 (Response Topic and Correlation Data); connect with protocolVersion: 5');
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (typeof timeoutMs !== 'number') throw new TypeError(`request: timeoutMs: expected a number, got ${describe(timeoutMs)}`);
  if (!(timeoutMs > 0 && timeoutMs <= 0x7fff_ffff)) throw new RangeError(`request: timeoutMs: expected (0, 2147483647], got ${timeoutMs}`);
  const qos = qosOf('request', options.qos, 1);
  const signal = signalOf('request', options.signal);
  const extra = options.properties ?? {};
  publishProperties('request', extra); // checked once here; the merged set is checked by publish
  if ('responseTopic' in extra || 'correlationData' in extra) throw new TypeError('request: properties: responseTopic and correlationData are set by request()');
  if (signal?.aborted === true) throw abortError(signal);

  const correlationData = new Uint8Array(randomBytes(16));
  const responseTopic = options.responseTopic;
  const held = host.requestSubscriptions.get(responseTopic) ?? 0;
  host.requestSubscriptions.set(responseTopic, held + 1);
  try {
    if (held === 0) await host.subscribe(responseTopic, { qos });
    return await new Promise<InboundMessage>((resolve, reject) => {
      let timer: unknown;
      const done = (fn: () => void): void => {
        off();
        host.clock.clearTimer(timer);
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const off = host.on('message', (m) => {
        if (m.topic === responseTopic && sameBytes(m.properties?.correlationData, correlationData)) done(() => resolve(m));
      });
      const onAbort = (): void => done(() => reject(abortError(signal as AbortSignal)));
      signal?.addEventListener('abort', onAbort, { once: true });
      timer = host.clock.setTimer(() => done(() => reject(new DeviceError('REQUEST_TIMEOUT', `request "${topic}": no answer on "${responseTopic}" within ${timeoutMs} ms`))), timeoutMs);
      host.publish(topic, payload, { qos, properties: { ...extra, responseTopic, correlationData } }).catch((err: unknown) => done(() => reject(err)));
    });
  } finally {
    const left = (host.requestSubscriptions.get(responseTopic) ?? 1) - 1;
    if (left === 0) {
      host.requestSubscriptions.delete(responseTopic);
      await host.unsubscribe(responseTopic).catch(() => undefined); // the answer (or the error) counts, not the cleanup
    } else host.requestSubscriptions.set(responseTopic, left);
  }
}
