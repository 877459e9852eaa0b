/**
 * The gateway's previous broker link, an MQTT.js connection per MQTT-SN client (as it was up to
 * session 5), kept for the fleet bench's A/B comparison (`--link=mqttjs`) against the default
 * link in src/mqtt-sn/gateway-link.ts. Not part of the package.
 */
import { connectAsync, type IClientOptions } from 'mqtt';
import type { BrokerConnectRequest, BrokerLink, GatewayBrokerOptions } from '@outpost/device-sdk/mqtt-sn';

const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

export async function connectMqttJsLink(b: GatewayBrokerOptions, r: BrokerConnectRequest): Promise<BrokerLink> {
  const opts: IClientOptions = {
    clientId: r.clientId,
    protocolVersion: b.protocolVersion ?? 4,
    clean: r.clean,
    keepalive: Math.max(0, Math.min(r.keepAliveS, 65535)),
    reconnectPeriod: 0,
    connectTimeout: b.connectTimeoutMs ?? 10_000,
    rejectUnauthorized: true,
    ...(b.ca !== undefined ? { ca: (Array.isArray(b.ca) ? b.ca : [b.ca]).map((c: string | Uint8Array) => (typeof c === 'string' ? c : Buffer.from(c).toString('utf8'))) } : {}),
    ...(r.creds !== undefined ? { cert: r.creds.cert as string, key: r.creds.key as string } : {}),
    ...(r.will !== undefined ? { will: { topic: r.will.topic, payload: Buffer.from(r.will.payload), qos: r.will.qos, retain: r.will.retain } } : {}),
  };
  const mq = await connectAsync(b.url, opts);
  (mq.stream as unknown as { setNoDelay?: (on: boolean) => unknown }).setNoDelay?.(true);
  return {
    publish: async (topic, payload, qos, retain) => {
      if (qos === 0) mq.publish(topic, asBuffer(payload), { qos: 0, retain });
      else await mq.publishAsync(topic, asBuffer(payload), { qos, retain });
    },
    publishCallback: (topic, payload, qos, retain, done) => {
      if (qos === 0) {
        mq.publish(topic, asBuffer(payload), { qos: 0, retain });
        done();
      } else mq.publish(topic, asBuffer(payload), { qos, retain }, (err) => done(err ?? undefined));
    },
    subscribe: async (filter, qos) => (await mq.subscribeAsync(filter, { qos }))[0]?.qos ?? 0x80,
    unsubscribe: async (filter) => { await mq.unsubscribeAsync(filter); },
    end: async (abrupt) => {
      if (abrupt) mq.end(true);
      else await mq.endAsync(false).catch(() => undefined);
    },
    listen: (h) => {
      mq.on('message', (topic, payload, packet) => h.message(topic, new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), packet.qos, packet.retain));
      mq.on('error', (e) => h.error(e));
      mq.on('close', () => h.close());
    },
  };
}
