// The console's subscriptions: telemetry (decoded by the pipeline's own decoder, so the console
// shows exactly the points the pipeline stores), alert events as the pipeline's mqttAlertSink
// publishes them, and optional device status messages. Internal.
import type { MqttClient } from 'mqtt';
import { createDecoder, type AlertEvent, type DecodeOptions } from '@outpost/pipeline';
import type { LiveState } from './live.js';

/** Topic filters the console subscribes to. */
export interface ConsoleTopics {
  /** Default `['devices/+/telemetry']` (the pipeline's default). */
  readonly telemetry?: readonly string[];
  /** Default `['alerts/#']` (the pipeline's `mqttAlertSink` publishes on `alerts/{device}/{ruleId}`). */
  readonly alerts?: readonly string[];
  /** Default `['devices/+/status']`: `online` / `offline` (e.g. a device's last will). `[]` for none. */
  readonly status?: readonly string[];
}

export interface FeedStats {
  messages: number;
  /** Messages that did not decode (bad telemetry, an alert that is not an AlertEvent). */
  rejected: number;
  /** Filters the broker refused (SUBACK failure): the console runs without them. */
  refused: string[];
}

/** MQTT 3.1.1 §4.7 topic filter matching (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i > 0 || !topic.startsWith('$');
    if (i >= t.length) return false;
    if (f[i] === '+') {
      if (i === 0 && (t[0] as string).startsWith('$')) return false;
      continue;
    }
    if (f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

const text = new TextDecoder('utf-8', { fatal: true });

function asAlert(x: unknown): AlertEvent | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const e = x as Record<string, unknown>;
  if (e['kind'] !== 'fired' && e['kind'] !== 'resolved') return undefined;
  for (const k of ['ruleId', 'device', 'episodeId', 'severity', 'message']) if (typeof e[k] !== 'string') return undefined;
  if (typeof e['at'] !== 'number') return undefined;
  if (e['metric'] !== null && typeof e['metric'] !== 'string') return undefined;
  if (e['value'] !== null && typeof e['value'] !== 'number') return undefined;
  return {
    kind: e['kind'], ruleId: e['ruleId'] as string, device: e['device'] as string, severity: e['severity'] as AlertEvent['severity'],
    at: e['at'], metric: e['metric'] as string | null, value: e['value'] as number | null, episodeId: e['episodeId'] as string, message: e['message'] as string,
    ...(e['expired'] === true ? { expired: true as const } : {}),
  };
}

/** Subscribes `client` and feeds `live`; returns the counters and an unsubscribe. */
export async function startFeed(
  client: MqttClient,
  live: LiveState,
  topics: ConsoleTopics,
  decodeOptions: DecodeOptions,
  now: () => number,
): Promise<{ stats: FeedStats; stop(): Promise<void> }> {
  const telemetry = [...(topics.telemetry ?? ['devices/+/telemetry'])];
  const alerts = [...(topics.alerts ?? ['alerts/#'])];
  const status = [...(topics.status ?? ['devices/+/status'])];
  const decode = createDecoder(decodeOptions);
  const stats: FeedStats = { messages: 0, rejected: 0, refused: [] };
  const onMessage = (topic: string, payload: Buffer, packet: { properties?: { contentType?: string } }): void => {
    stats.messages++;
    try {
      if (telemetry.some((f) => topicMatches(f, topic))) {
        const receivedAt = now();
        live.telemetry(decode({ topic, payload, contentType: packet.properties?.contentType, receivedAt }), receivedAt);
      } else if (alerts.some((f) => topicMatches(f, topic))) {
        const e = asAlert(JSON.parse(text.decode(payload)));
        if (e === undefined) stats.rejected++;
        else live.alert(e);
      } else if (status.some((f) => topicMatches(f, topic))) {
        const s = text.decode(payload).trim().toLowerCase();
        const device = topic.split('/')[1];
        if ((s === 'online' || s === 'offline') && device !== undefined && device !== '') live.status(device, s, now());
        else stats.rejected++;
      }
    } catch {
      // A device's bad payload is the pipeline's dead letter; here it is only counted.
      stats.rejected++;
    }
  };
  client.on('message', onMessage);
  const filters = [...telemetry, ...alerts, ...status];
  // One SUBSCRIBE per filter: a broker whose ACL refuses one (e.g. alerts/#) refuses only that one.
  await Promise.all(filters.map(async (f) => {
    try {
      const granted = await client.subscribeAsync(f, { qos: 0 });
      if (granted.some((g) => g.qos > 2)) stats.refused.push(f);
    } catch (err) {
      if (!client.connected) throw err;
      stats.refused.push(f); // MQTT.js rejects on a SUBACK failure code (0x80, MQTT 5 ≥ 0x80)
    }
  }));
  return {
    stats,
    async stop() {
      client.removeListener('message', onMessage);
      if (filters.length > 0 && client.connected) await client.unsubscribeAsync(filters).catch(() => undefined);
    },
  };
}
