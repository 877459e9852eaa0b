/**
 * Alert sinks: the interface, a callback and an MQTT topic. The HTTP webhook sink is in
 * alert-webhook.ts, the dispatcher that fans each event out to the sinks without ever blocking
 * or failing the pipeline in alert-dispatcher.ts.
 */
import { PipelineError } from './errors.js';
import type { AlertEvent } from './rules-types.js';
import { assertFunction, assertObject, describe } from './validate.js';

/** Hooks a dispatcher hands to {@link AlertSink.send}. */
export interface AlertSendContext {
  /** Called before each retry, with the 1-based retry number and why the attempt failed. */
  readonly onRetry?: (retry: number, error: unknown) => void;
  /** Aborts the delivery (shutdown): the send stops retrying and rejects soon. */
  readonly signal?: AbortSignal;
}

/** Where alert events go. */
export interface AlertSink {
  /** Short unique name used in stats and failures (`webhook`, `mqtt`, `callback`). */
  readonly name: string;
  /** Delivers one event; resolves when the receiver has it (HTTP 2xx, MQTT PUBACK…). */
  send(event: AlertEvent, context?: AlertSendContext): Promise<void>;
}

export function assertEvent(name: string, e: unknown): asserts e is AlertEvent {
  if (typeof e !== 'object' || e === null) throw new TypeError(`${name}: expected an AlertEvent, got ${describe(e)}`);
  const x = e as Record<string, unknown>;
  if (x.kind !== 'fired' && x.kind !== 'resolved') throw new TypeError(`${name}.kind: expected 'fired' or 'resolved', got ${describe(x.kind)}`);
  for (const k of ['ruleId', 'device', 'episodeId'] as const) {
    if (typeof x[k] !== 'string') throw new TypeError(`${name}.${k}: expected a string, got ${describe(x[k])}`);
  }
}

export function nameOption(v: unknown, dflt: string): string {
  if (v === undefined) return dflt;
  if (typeof v !== 'string') throw new TypeError(`options.name: expected a string, got ${describe(v)}`);
  if (v.length === 0) throw new RangeError('options.name: expected a non-empty string, got ""');
  return v;
}

export function msOption(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number') throw new TypeError(`${name}: expected a number of milliseconds, got ${describe(v)}`);
  if (!(v >= 0) || v === Infinity) throw new RangeError(`${name}: expected a finite number >= 0, got ${v}`);
  return v;
}

/**
 * An alert sink that calls a function (log it, push it to a dashboard, hand it to your own code).
 *
 * @param fn - receives each event; a rejection or a throw counts as a failed delivery.
 * @example
 * ```ts
 * import { callbackAlertSink } from '@outpost/pipeline';
 * const seen: string[] = [];
 * const sink = callbackAlertSink((e) => { seen.push(e.episodeId); });
 * await sink.send({ kind: 'fired', ruleId: 'hot', device: 'd1', severity: 'warning', at: 1, metric: 'temp', value: 90, episodeId: 'hot/d1/1', message: 'hot' });
 * seen; // ['hot/d1/1']
 * sink.name; // 'callback'
 * ```
 */
export function callbackAlertSink(fn: (event: AlertEvent) => void | Promise<void>, options: { readonly name?: string } = {}): AlertSink {
  assertFunction('fn', fn);
  assertObject('options', options);
  const name = nameOption(options.name, 'callback');
  return {
    name,
    send: async (event) => {
      assertEvent('event', event);
      await fn(event);
    },
  };
}

/**
 * What {@link mqttAlertSink} publishes with: an MQTT.js client, or a consumer's own connection
 * (`Ingest.client`). `callback` runs once the broker acknowledged (QoS 1/2), or with an error.
 */
export interface MqttPublisher {
  publish(topic: string, payload: string, options: { qos: 0 | 1 | 2; retain: boolean }, callback: (error?: Error) => void): unknown;
}

/** Options of {@link mqttAlertSink}. */
export interface MqttAlertSinkOptions {
  /** A connected MQTT.js client, or `Ingest.client` (alerts on the consumer's connection). */
  readonly client: MqttPublisher;
  /** Topic template; placeholders `{device}`, `{ruleId}`, `{kind}`, `{severity}`. Default `alerts/{device}/{ruleId}`. */
  readonly topic?: string;
  /** Default 1: the send resolves on PUBACK. */
  readonly qos?: 0 | 1 | 2;
  /** Default false. */
  readonly retain?: boolean;
  /** Time to wait for the acknowledgement, ms. Default 10,000. */
  readonly timeoutMs?: number;
  /** Default `mqtt`. */
  readonly name?: string;
}

/**
 * An alert sink that publishes each event as JSON on a templated MQTT topic. A placeholder whose
 * value contains `/`, `+`, `#` or NUL would change the topic's levels or be a wildcard: such an
 * event is refused (`ALERT_DELIVERY_FAILED`), never published elsewhere.
 *
 * Not executed here (it needs a broker):
 * ```text
 * const client = await mqtt.connectAsync('mqtts://broker:8883', { ca, cert, key });
 * const sink = mqttAlertSink({ client, topic: 'alerts/{device}/{ruleId}' });
 * ```
 *
 * @throws TypeError/RangeError for wrong options.
 * @example
 * ```ts
 * import { mqttAlertSink } from '@outpost/pipeline';
 * // a stand-in for an MQTT.js client that acknowledges at once
 * const topics: string[] = [];
 * const client = { publish: (topic: string, _payload: string, _opts: object, done: (err?: Error) => void) => { topics.push(topic); done(); } };
 * const sink = mqttAlertSink({ client: client as never });
 * await sink.send({ kind: 'fired', ruleId: 'hot', device: 'd1', severity: 'warning', at: 1, metric: 'temp', value: 90, episodeId: 'hot/d1/1', message: 'hot' });
 * topics; // ['alerts/d1/hot']
 * ```
 */
export function mqttAlertSink(options: MqttAlertSinkOptions): AlertSink {
  assertObject('options', options);
  const client = options.client as unknown;
  if (typeof client !== 'object' || client === null || typeof (client as { publish?: unknown }).publish !== 'function') {
    throw new TypeError(`options.client: expected an MQTT.js client, got ${describe(client)}`);
  }
  const topic = options.topic === undefined ? 'alerts/{device}/{ruleId}' : options.topic;
  if (typeof topic !== 'string') throw new TypeError(`options.topic: expected a string, got ${describe(topic)}`);
  if (topic.length === 0 || /[+#\0]/.test(topic.replace(/\{(device|ruleId|kind|severity)\}/g, ''))) {
    throw new RangeError(`options.topic: expected a topic name without wildcards, got ${JSON.stringify(topic)}`);
  }
  const qos = options.qos === undefined ? 1 : options.qos;
  if (typeof qos !== 'number') throw new TypeError(`options.qos: expected 0, 1 or 2, got ${describe(qos)}`);
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError(`options.qos: expected 0, 1 or 2, got ${String(qos)}`);
  const retain = options.retain === undefined ? false : options.retain;
  if (typeof retain !== 'boolean') throw new TypeError(`options.retain: expected a boolean, got ${describe(retain)}`);
  const timeoutMs = msOption('options.timeoutMs', options.timeoutMs, 10_000);
  const name = nameOption(options.name, 'mqtt');
  const mqtt = client as MqttPublisher;
  const publishOptions = { qos, retain } as const;
  return {
    name,
    send: (event, context) =>
      new Promise<void>((resolve, reject) => {
        let t: string;
        try {
          assertEvent('event', event);
          t = topic.replace(/\{(device|ruleId|kind|severity)\}/g, (_, k: 'device' | 'ruleId' | 'kind' | 'severity') => {
            const v = String(event[k]);
            if (/[/+#\0]/.test(v) || v.length === 0) throw new PipelineError('ALERT_DELIVERY_FAILED', `mqtt: ${k} ${JSON.stringify(v)} cannot be a topic level`);
            return v;
          });
        } catch (err) {
          reject(err);
          return;
        }
        const abort = context?.signal;
        const onAbort = (): void => {
          clearTimeout(timer);
          reject(new PipelineError('ALERT_DELIVERY_FAILED', `mqtt: aborted while waiting for the acknowledgement of ${t}`));
        };
        const timer = setTimeout(() => {
          abort?.removeEventListener('abort', onAbort);
          reject(new PipelineError('ALERT_DELIVERY_FAILED', `mqtt: no acknowledgement for ${t} within ${timeoutMs} ms`));
        }, timeoutMs);
        if (abort?.aborted === true) return onAbort();
        abort?.addEventListener('abort', onAbort, { once: true });
        const failed = (err: Error): void => reject(new PipelineError('ALERT_DELIVERY_FAILED', `mqtt: publish to ${t} failed: ${err.message}`, { cause: err }));
        try {
          mqtt.publish(t, JSON.stringify(event), publishOptions, (err?: Error) => {
            clearTimeout(timer);
            abort?.removeEventListener('abort', onAbort);
            if (err) failed(err);
            else resolve();
          });
        } catch (err) {
          clearTimeout(timer);
          abort?.removeEventListener('abort', onAbort);
          failed(err as Error);
        }
      }),
  };
}
