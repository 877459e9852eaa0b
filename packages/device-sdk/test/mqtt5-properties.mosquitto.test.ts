// MQTT 5 PUBLISH properties and request/response through a real Mosquitto with the fleet's mTLS
// config: what a device sends arrives at another client intact, what it receives carries the
// properties, and request() pairs an answer by its correlation data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { connectDevice, DeviceError, type DeviceClient, type InboundMessage } from '@outpost/device-sdk';
import { startFleet, type Fleet } from './fixtures/fleet.js';

let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet();
});
afterAll(async () => {
  await fleet?.stop();
});

async function device(id: string, protocolVersion: 4 | 5 = 5): Promise<DeviceClient> {
  const c = await fleet.device(id);
  return connectDevice({ url: fleet.url, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, protocolVersion });
}

/** A raw MQTT.js client with a fleet identity (the app observer reads everything; a device's own identity may publish under devices/<id>/). */
async function raw(id = 'app-observer'): Promise<mqtt.MqttClient> {
  const c = await fleet.device(id);
  return mqtt.connectAsync(fleet.url, { ca: fleet.ca.certificatePem, cert: c.cert, key: c.key, clientId: `${id}-raw-${Math.random().toString(36).slice(2)}`, protocolVersion: 5, reconnectPeriod: 0 });
}
const observer = (): Promise<mqtt.MqttClient> => raw();

describe('MQTT 5 publish properties', () => {
  it('user properties, content type, payload format, expiry, response topic and correlation data reach another client', async () => {
    const d = await device('props-1');
    const obs = await observer();
    try {
      await obs.subscribeAsync('devices/props-1/#', { qos: 1 });
      const got = new Promise<mqtt.IPublishPacket>((resolve) => obs.on('message', (_t, _p, packet) => resolve(packet)));
      await d.publish('devices/props-1/telemetry', '{"t":1}', {
        qos: 1,
        properties: {
          userProperties: { site: 'plant-7', tag: ['a', 'b'] },
          contentType: 'application/json',
          payloadFormatIndicator: true,
          messageExpiryInterval: 3600,
          responseTopic: 'devices/props-1/replies',
          correlationData: Uint8Array.of(1, 2, 3),
        },
      });
      const p = (await got).properties ?? {};
      expect(p.userProperties).toEqual({ site: 'plant-7', tag: ['a', 'b'] });
      expect(p.contentType).toBe('application/json');
      expect(p.payloadFormatIndicator).toBe(true);
      expect(p.messageExpiryInterval).toBeGreaterThan(3590);
      expect(p.responseTopic).toBe('devices/props-1/replies');
      expect([...(p.correlationData ?? [])]).toEqual([1, 2, 3]);
    } finally {
      await d.close();
      await obs.endAsync();
    }
  });

  it('a device receives the properties of a message', async () => {
    const d = await device('props-2');
    const obs = await raw('props-2'); // the ACL lets the device's own identity publish under devices/props-2/
    try {
      await d.subscribe('devices/props-2/cmd');
      const got = new Promise<InboundMessage>((resolve) => d.on('message', resolve));
      await obs.publishAsync('devices/props-2/cmd', 'go', { qos: 1, properties: { contentType: 'text/plain', userProperties: { by: 'ops' }, correlationData: Buffer.from([9]) } });
      const m = await got;
      expect(m.properties?.contentType).toBe('text/plain');
      expect(m.properties?.userProperties).toEqual({ by: 'ops' });
      expect([...(m.properties?.correlationData ?? [])]).toEqual([9]);
    } finally {
      await d.close();
      await obs.endAsync();
    }
  });

  it('bad properties are refused before anything is sent; MQTT 3.1.1 cannot carry them', async () => {
    const d = await device('props-3');
    const v4 = await device('props-4', 4);
    try {
      const t = 'devices/props-3/x';
      await expect(d.publish(t, 'x', { properties: { messageExpiryInterval: -1 } })).rejects.toThrow(RangeError);
      await expect(d.publish(t, 'x', { properties: { contentType: 5 as never } })).rejects.toThrow(TypeError);
      await expect(d.publish(t, 'x', { properties: { correlationData: 'abc' as never } })).rejects.toThrow(TypeError);
      await expect(d.publish(t, 'x', { properties: { responseTopic: 'devices/+/x' } })).rejects.toMatchObject({ code: 'INVALID_TOPIC' });
      await expect(d.publish(t, 'x', { properties: { topicAlias: 3 } as never })).rejects.toThrow(/not an MQTT 5 PUBLISH property/);
      await expect(v4.publish('devices/props-4/x', 'x', { properties: { contentType: 'a' } })).rejects.toThrow(/need MQTT 5/);
      expect(d.stats().messagesOut).toBe(0);
    } finally {
      await d.close();
      await v4.close();
    }
  });
});

describe('request/response', () => {
  it('pairs the answer by correlation data, ignores others, and releases the subscription', async () => {
    const d = await device('req-1');
    const responder = await raw('req-1'); // answers under devices/req-1/, as a service with that right would
    try {
      await responder.subscribeAsync('devices/req-1/requests', { qos: 1 });
      responder.on('message', (_t, payload, packet) => {
        const rt = packet.properties?.responseTopic;
        const cd = packet.properties?.correlationData;
        if (rt === undefined || cd === undefined) return;
        // a stray answer with other correlation data first, then the real one
        void responder.publishAsync(rt, 'stray', { qos: 1, properties: { correlationData: Buffer.from('other') } })
          .then(() => responder.publishAsync(rt, `echo:${payload.toString()}`, { qos: 1, properties: { correlationData: cd } }));
      });
      const answer = await d.request('devices/req-1/requests', 'ping', { responseTopic: 'devices/req-1/responses', timeoutMs: 5_000 });
      expect(new TextDecoder().decode(answer.payload)).toBe('echo:ping');
      // two at once share the response subscription and each gets its own answer
      const [a, b] = await Promise.all([
        d.request('devices/req-1/requests', 'a', { responseTopic: 'devices/req-1/responses' }),
        d.request('devices/req-1/requests', 'b', { responseTopic: 'devices/req-1/responses' }),
      ]);
      expect([new TextDecoder().decode(a.payload), new TextDecoder().decode(b.payload)]).toEqual(['echo:a', 'echo:b']);
      // The response subscription is released: a later message there does not reach the device,
      // while one on a topic it still holds (sent after it, same publisher, so delivered in order) does.
      await d.subscribe('devices/req-1/control');
      const seen: string[] = [];
      const control = new Promise<void>((resolve) => d.on('message', (m) => {
        seen.push(m.topic);
        if (m.topic === 'devices/req-1/control') resolve();
      }));
      await responder.publishAsync('devices/req-1/responses', 'late', { qos: 1 });
      await responder.publishAsync('devices/req-1/control', 'after', { qos: 1 });
      await control;
      expect(seen).toEqual(['devices/req-1/control']);
    } finally {
      await d.close();
      await responder.endAsync();
    }
  });

  it('no answer: REQUEST_TIMEOUT; MQTT 3.1.1: RangeError', async () => {
    const d = await device('req-2');
    const v4 = await device('req-3', 4);
    try {
      const err = await d.request('devices/req-2/requests', 'x', { responseTopic: 'devices/req-2/responses', timeoutMs: 300 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeviceError);
      expect((err as DeviceError).code).toBe('REQUEST_TIMEOUT');
      await expect(v4.request('devices/req-3/requests', 'x', { responseTopic: 'devices/req-3/responses' })).rejects.toThrow(RangeError);
    } finally {
      await d.close();
      await v4.close();
    }
  });
});
