/** Argument checks of the device client: TypeError for a wrong type, DeviceError INVALID_TOPIC / RangeError for a bad value. */
import { describe } from './describe.js';
import { DeviceError } from './errors.js';
import { abortError } from './flow.js';
import type { PublishProperties, QoS } from './client-types.js';

/** MQTT 3.1.1 §4.7.3: topic names are non-empty UTF-8, no wildcards, no NUL, ≤ 65,535 bytes. */
export function checkTopicName(op: string, topic: unknown): asserts topic is string {
  if (typeof topic !== 'string') throw new TypeError(`${op}: topic: expected a string, got ${describe(topic)}`);
  if (topic.length === 0) throw new DeviceError('INVALID_TOPIC', `${op}: topic must not be empty`);
  if (/[+#\u0000]/.test(topic)) throw new DeviceError('INVALID_TOPIC', `${op}: topic "${topic}" contains a wildcard or NUL; publish to a concrete topic`);
  if (Buffer.byteLength(topic) > 65_535) throw new DeviceError('INVALID_TOPIC', `${op}: topic is longer than 65,535 bytes`);
}

/** MQTT 3.1.1 §4.7.1: `#` only last and alone in its level, `+` alone in its level. */
export function filterList(op: string, filters: unknown): string[] {
  const list = typeof filters === 'string' ? [filters] : filters;
  if (!Array.isArray(list) || list.length === 0) throw new TypeError(`${op}: filters: expected a string or a non-empty array of strings, got ${describe(filters)}`);
  return list.map((f: unknown) => {
    if (typeof f !== 'string') throw new TypeError(`${op}: filter: expected a string, got ${describe(f)}`);
    if (f.length === 0 || f.includes('\u0000')) throw new DeviceError('INVALID_TOPIC', `${op}: filter "${f}" is empty or contains NUL`);
    const levels = f.split('/');
    levels.forEach((l, i) => {
      if ((l.includes('#') && (l !== '#' || i !== levels.length - 1)) || (l.includes('+') && l !== '+')) {
        throw new DeviceError('INVALID_TOPIC', `${op}: filter "${f}" misuses a wildcard in level ${i + 1}`);
      }
    });
    return f;
  });
}

export function qosOf(op: string, v: unknown, def: QoS): QoS {
  if (v === undefined) return def;
  if (typeof v !== 'number') throw new TypeError(`${op}: qos: expected 0, 1 or 2, got ${describe(v)}`);
  if (v !== 0 && v !== 1 && v !== 2) throw new RangeError(`${op}: qos: expected 0, 1 or 2, got ${v}`);
  return v;
}

export function signalOf(op: string, v: unknown): AbortSignal | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof AbortSignal)) throw new TypeError(`${op}: signal: expected an AbortSignal, got ${describe(v)}`);
  return v;
}

/** MQTT.js's shape of PUBLISH properties (correlation data as a Buffer view). */
export type WireProperties = Record<string, unknown>;

export function publishOptions(o: unknown): { qos: QoS; retain: boolean; signal: AbortSignal | undefined; properties: WireProperties | undefined } {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new TypeError(`publish: options: expected an object, got ${describe(o)}`);
  const r = o as Record<string, unknown>;
  if (r['retain'] !== undefined && typeof r['retain'] !== 'boolean') throw new TypeError(`publish: retain: expected a boolean, got ${describe(r['retain'])}`);
  const properties = r['properties'] === undefined ? undefined : publishProperties('publish', r['properties']);
  return { qos: qosOf('publish', r['qos'], 1), retain: r['retain'] === true, signal: signalOf('publish', r['signal']), properties };
}

const UTF8_LIMIT = 65_535; // MQTT 5 §1.5.4: UTF-8 strings and binary data carry a 2-byte length

function utf8Field(op: string, name: string, v: unknown): string {
  if (typeof v !== 'string') throw new TypeError(`${op}: properties.${name}: expected a string, got ${describe(v)}`);
  if (Buffer.byteLength(v) > UTF8_LIMIT) throw new RangeError(`${op}: properties.${name}: longer than ${UTF8_LIMIT} bytes`);
  return v;
}

/** Checks MQTT 5 PUBLISH properties (§3.3.2.3) and maps them to MQTT.js's shape. */
export function publishProperties(op: string, v: unknown): WireProperties {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError(`${op}: properties: expected an object, got ${describe(v)}`);
  const p = v as Record<string, unknown>;
  const out: WireProperties = {};
  for (const k of Object.keys(p)) {
    if (!['userProperties', 'contentType', 'payloadFormatIndicator', 'messageExpiryInterval', 'responseTopic', 'correlationData'].includes(k)) {
      throw new TypeError(`${op}: properties.${k}: not an MQTT 5 PUBLISH property this client sends`);
    }
  }
  if (p['userProperties'] !== undefined) {
    const u = p['userProperties'];
    if (typeof u !== 'object' || u === null || Array.isArray(u)) throw new TypeError(`${op}: properties.userProperties: expected an object, got ${describe(u)}`);
    const user: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(u)) {
      utf8Field(op, `userProperties name`, name);
      user[name] = Array.isArray(value) ? value.map((x, i) => utf8Field(op, `userProperties.${name}[${i}]`, x)) : utf8Field(op, `userProperties.${name}`, value);
    }
    out['userProperties'] = user;
  }
  if (p['contentType'] !== undefined) out['contentType'] = utf8Field(op, 'contentType', p['contentType']);
  if (p['payloadFormatIndicator'] !== undefined) {
    if (typeof p['payloadFormatIndicator'] !== 'boolean') throw new TypeError(`${op}: properties.payloadFormatIndicator: expected a boolean, got ${describe(p['payloadFormatIndicator'])}`);
    out['payloadFormatIndicator'] = p['payloadFormatIndicator'];
  }
  if (p['messageExpiryInterval'] !== undefined) {
    const e = p['messageExpiryInterval'];
    if (typeof e !== 'number') throw new TypeError(`${op}: properties.messageExpiryInterval: expected seconds, got ${describe(e)}`);
    if (!Number.isInteger(e) || e < 0 || e > 0xffff_ffff) throw new RangeError(`${op}: properties.messageExpiryInterval: expected an integer 0…4294967295, got ${e}`);
    out['messageExpiryInterval'] = e;
  }
  if (p['responseTopic'] !== undefined) {
    checkTopicName(op, p['responseTopic']); // a topic name: no wildcards (§3.3.2.3.5)
    out['responseTopic'] = p['responseTopic'];
  }
  if (p['correlationData'] !== undefined) {
    const c = p['correlationData'];
    if (!(c instanceof Uint8Array)) throw new TypeError(`${op}: properties.correlationData: expected a Uint8Array, got ${describe(c)}`);
    if (c.byteLength > UTF8_LIMIT) throw new RangeError(`${op}: properties.correlationData: longer than ${UTF8_LIMIT} bytes`);
    out['correlationData'] = Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  }
  return out;
}

/** MQTT.js's received properties → {@link PublishProperties} (views, no copies). */
export function inboundProperties(p: Record<string, unknown> | undefined): PublishProperties | undefined {
  if (p === undefined) return undefined;
  const out: { -readonly [K in keyof PublishProperties]: PublishProperties[K] } = {};
  if (p['userProperties'] !== undefined) out.userProperties = p['userProperties'] as Record<string, string | string[]>;
  if (typeof p['contentType'] === 'string') out.contentType = p['contentType'];
  if (p['payloadFormatIndicator'] !== undefined) out.payloadFormatIndicator = p['payloadFormatIndicator'] === true || p['payloadFormatIndicator'] === 1;
  if (typeof p['messageExpiryInterval'] === 'number') out.messageExpiryInterval = p['messageExpiryInterval'];
  if (typeof p['responseTopic'] === 'string') out.responseTopic = p['responseTopic'];
  const c = p['correlationData'];
  if (c instanceof Uint8Array) out.correlationData = new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
  return Object.keys(out).length === 0 ? undefined : out;
}

export function pingOptions(o: unknown): { timeoutMs: number; signal: AbortSignal | undefined } {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new TypeError(`ping: options: expected an object, got ${describe(o)}`);
  const t = (o as Record<string, unknown>)['timeoutMs'];
  if (t !== undefined && typeof t !== 'number') throw new TypeError(`ping: timeoutMs: expected a number, got ${describe(t)}`);
  if (t !== undefined && !(t > 0 && t <= 0x7fff_ffff)) throw new RangeError(`ping: timeoutMs: expected a number in (0, 2147483647], got ${t}`);
  return { timeoutMs: t ?? 10_000, signal: signalOf('ping', (o as Record<string, unknown>)['signal']) };
}

export function withSignal<T>(signal: AbortSignal | undefined, p: Promise<T>): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}
