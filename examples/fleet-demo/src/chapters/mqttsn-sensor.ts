// A battery-powered sensor on MQTT-SN: it connects through an MqttSnGateway (which opens one
// MQTT connection per sensor, with that sensor's own certificate, to the demo's broker), then
// sleeps, wakes and publishes a reading per cycle. Short topic ids keep each datagram small.
import { connectAsync } from 'mqtt';
import { connectMqttSn, encodeMessage, MqttSnGateway } from '@outpost/device-sdk/mqtt-sn';
import type { Chapter } from '../context.js';

export const mqttsnSensor: Chapter = {
  id: 'mqttsnSensor',
  title: 'A sleepy battery sensor on MQTT-SN, through a per-client gateway',
  async run(ctx) {
    const id = 'sn-sensor-1';
    const gateway = new MqttSnGateway({
      udp: { host: '127.0.0.1', port: 0 },
      broker: { url: ctx.url, ca: ctx.ca.certificatePem, protocolVersion: ctx.protocolVersion },
      // Each MQTT-SN client reaches the broker as itself: the ACL devices/<id>/... still holds.
      credentials: (clientId) => ctx.device(clientId),
    });
    await gateway.start();
    const port = gateway.address().port;
    ctx.say(`  gateway on udp://127.0.0.1:${port} → ${ctx.url} (one MQTT connection per sensor, own certificate)`);

    const app = await ctx.device('ops-console');
    const ops = await connectAsync(ctx.url, { clientId: 'ops-console', cert: app.cert, key: app.key, ca: ctx.ca.certificatePem, protocolVersion: ctx.protocolVersion, reconnectPeriod: 0 });
    const seen: string[] = [];
    ops.on('message', (_t, payload) => seen.push(payload.toString()));
    await ops.subscribeAsync(`devices/${id}/#`, { qos: 1 });

    const sensor = await connectMqttSn({
      gateway: { host: '127.0.0.1', port },
      clientId: id,
      bind: { host: '127.0.0.1' },
      keepAliveS: 120,
      cleanSession: false,
      will: { topic: `devices/${id}/status`, payload: 'battery died', qos: 1 },
      retry: { tRetryMs: 1000, nRetry: 3 },
    });
    const topic = `devices/${id}/temp`;
    const topicId = await sensor.register(topic);
    ctx.say(`  ${id} connected (with a will), registered ${topic} as topic id ${topicId}`);

    const cycles = 3;
    let sleeps = 0;
    for (let i = 0; i < cycles; i++) {
      const reading = JSON.stringify({ t: 20 + i * 0.5, battery: 3.7 - i * 0.01 });
      await sensor.publish({ kind: 'normal', id: topicId }, reading, { qos: 1 });
      await sensor.sleep(600); // radio off for 10 minutes (DISCONNECT with a Duration)
      sleeps++;
      await sensor.wake(); // PINGREQ with its client id: anything buffered arrives, then PINGRESP
      await sensor.resume(); // active again, same session and topic ids
    }
    const datagram = encodeMessage({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topic: { kind: 'normal', id: topicId }, msgId: 1, payload: new TextEncoder().encode(JSON.stringify({ t: 20, battery: 3.7 })) });
    await sensor.disconnect();
    const end = Date.now() + 2000;
    while (seen.length < cycles && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    const stats = gateway.stats();
    await ops.endAsync();
    await gateway.close();
    ctx.say(`  ${cycles} sleep/wake cycles; the ops console received ${seen.length} readings, each a ${datagram.length}-byte MQTT-SN datagram`);
    ctx.summary['mqttsnSensor'] = {
      cycles,
      sleeps,
      published: cycles,
      received: seen.length,
      datagramBytes: datagram.length,
      gateway: { datagramsIn: stats.datagramsIn, publishesIn: stats.publishesIn, malformed: stats.malformed },
    };
  },
};
