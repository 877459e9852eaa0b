// mqttAlertSink against a real Mosquitto on 127.0.0.1 (plain listener, anonymous): a subscriber
// receives the alert JSON on the templated topic; the send waits for the PUBACK, so with the
// broker gone it times out instead of resolving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { startMosquitto, tempDir, type Mosquitto } from '@outpost/test-peers';
import { PipelineError } from '../src/errors.js';
import { AlertDispatcher } from '../src/alert-dispatcher.js';
import { mqttAlertSink } from '../src/alerts.js';
import { RuleEngine } from '../src/rules.js';
import type { AlertEvent } from '../src/rules-types.js';

let dir: ReturnType<typeof tempDir>;
let broker: Mosquitto;
let pub: MqttClient;
let sub: MqttClient;

beforeAll(async () => {
  dir = tempDir('outpost-alerts-mqtt-');
  broker = await startMosquitto({ dir: dir.path, config: (port) => `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n` });
  const url = `mqtt://127.0.0.1:${broker.port}`;
  pub = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, clientId: 'alerts-pub' });
  sub = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, clientId: 'alerts-sub' });
  await sub.subscribeAsync('alerts/#', { qos: 1 });
});
afterAll(async () => {
  await sub?.endAsync(true);
  await pub?.endAsync(true);
  await broker?.stop();
  dir?.cleanup();
});

function received(n: number): Promise<Array<{ topic: string; event: AlertEvent }>> {
  const out: Array<{ topic: string; event: AlertEvent }> = [];
  return new Promise((resolve) => {
    const on = (topic: string, payload: Buffer): void => {
      out.push({ topic, event: JSON.parse(payload.toString('utf8')) as AlertEvent });
      if (out.length === n) {
        sub.off('message', on);
        resolve(out);
      }
    };
    sub.on('message', on);
  });
}

describe('mqttAlertSink', () => {
  it('engine → dispatcher → broker → subscriber: the alert JSON on the templated topic', async () => {
    const engine = new RuleEngine([{ id: 'overheat', kind: 'threshold', metric: 'temp', above: 80, clearAt: 70, severity: 'critical' }]);
    const failures: unknown[] = [];
    const d = new AlertDispatcher([mqttAlertSink({ client: pub, topic: 'alerts/{severity}/{device}/{ruleId}/{kind}' })], { onFailure: (_e, _s, err) => failures.push(err) });
    const got = received(2);
    const sent: AlertEvent[] = [];
    for (const [t, v] of [[1, 75], [2, 85], [3, 90], [4, 75], [5, 65]] as const) {
      const events = engine.evaluate({ device: 'pump-7', time: t, metric: 'temp', value: v });
      sent.push(...events);
      d.dispatch(events);
    }
    await d.drain();
    expect(failures).toEqual([]);
    const msgs = await got;
    expect(msgs.map((m) => m.topic)).toEqual(['alerts/critical/pump-7/overheat/fired', 'alerts/critical/pump-7/overheat/resolved']);
    expect(msgs.map((m) => m.event)).toEqual(sent);
    expect(d.stats().sent).toBe(2);
  });

  it('refuses a device id that would change the topic levels or be a wildcard', async () => {
    const sink = mqttAlertSink({ client: pub });
    for (const device of ['a/b', 'a+', '#']) {
      const err = await sink.send({ kind: 'fired', ruleId: 'r', device, severity: 'info', at: 0, metric: null, value: null, episodeId: `r/${device}/0`, message: '' }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(PipelineError);
      expect((err as Error).message).toBe(`mqtt: device ${JSON.stringify(device)} cannot be a topic level`);
    }
  });

  it('waits for the PUBACK: with the broker down the send times out', async () => {
    const lonely = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 5, reconnectPeriod: 0, clientId: 'alerts-lonely' });
    await broker.kill();
    try {
      await new Promise((r) => setTimeout(r, 100));
      const err = await mqttAlertSink({ client: lonely, timeoutMs: 300 })
        .send({ kind: 'fired', ruleId: 'r', device: 'd', severity: 'info', at: 0, metric: null, value: null, episodeId: 'r/d/0', message: '' })
        .then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(PipelineError);
      expect((err as PipelineError).code).toBe('ALERT_DELIVERY_FAILED');
      expect((err as Error).message).toBe('mqtt: no acknowledgement for alerts/d/r within 300 ms');
      // a shutdown does not wait for the timeout
      const ac = new AbortController();
      const aborted = mqttAlertSink({ client: lonely, timeoutMs: 60_000 })
        .send({ kind: 'fired', ruleId: 'r', device: 'd', severity: 'info', at: 0, metric: null, value: null, episodeId: 'r/d/0', message: '' }, { signal: ac.signal })
        .then(() => undefined, (e: unknown) => e);
      ac.abort();
      expect(((await aborted) as Error).message).toBe('mqtt: aborted while waiting for the acknowledgement of alerts/d/r');
    } finally {
      await lonely.endAsync(true);
      await broker.start();
    }
  });
});
