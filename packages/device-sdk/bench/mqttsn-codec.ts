/**
 * MQTT-SN codec speed: encode + decode of a QoS 1 PUBLISH with a 16, 200 and 1,000-byte payload,
 * against MQTT.js's own codec (mqtt-packet, generate + parse of the equivalent MQTT 3.1.1
 * PUBLISH with a 15-character topic) in the same run.
 *
 * mqtt-packet is not a dependency of @outpost/device-sdk: it is reached through the `mqtt`
 * dependency's own dependency (createRequire from mqtt's package location).
 *
 * Run from the repository root:
 *
 *   npx tsx --conditions=@outpost/source packages/device-sdk/bench/mqttsn-codec.ts
 */
import { createRequire } from 'node:module';
import { decodeMessage, encodeMessage, type MqttSnMessage } from '@outpost/device-sdk/mqtt-sn';

interface MqttPacket {
  generate(p: unknown): Uint8Array;
  parser(o: { protocolVersion: number }): { on(ev: 'packet', cb: (p: unknown) => void): void; on(ev: 'error', cb: (e: Error) => void): void; parse(b: Uint8Array): number };
}
const fromSdk = createRequire(new URL('../package.json', import.meta.url));
const mqttPkg = fromSdk.resolve('mqtt/package.json');
const mqttPacket = createRequire(mqttPkg)('mqtt-packet') as MqttPacket;
const mqttPacketVersion = (createRequire(mqttPkg)('mqtt-packet/package.json') as { version: string }).version;

function rate(fn: () => void, ms = 1500): number {
  for (let i = 0; i < 20_000; i++) fn(); // warm up
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 2000; i++) fn();
    n += 2000;
    now = performance.now();
  }
  return (n / (now - start)) * 1000;
}

const rows: Array<Record<string, string | number>> = [];
for (const size of [16, 200, 1000]) {
  const payload = new Uint8Array(size).fill(0x41);
  const sn: MqttSnMessage = { type: 'PUBLISH', dup: false, qos: 1, retain: false, topic: { kind: 'normal', id: 1 }, msgId: 7, payload };
  let sink = 0;
  // The gateway's path: the received datagram is its own, so the payload stays a view of it
  // (as mqtt-packet's parser also returns a slice of its input).
  const snOps = rate(() => {
    const m = decodeMessage(encodeMessage(sn), { aliasPayload: true });
    if (m.type === 'PUBLISH') sink += m.payload[0] as number;
  });
  // The default decode copies the payload out.
  const snCopyOps = rate(() => {
    const m = decodeMessage(encodeMessage(sn));
    if (m.type === 'PUBLISH') sink += m.payload[0] as number;
  });
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  parser.on('packet', () => { sink += 1; });
  parser.on('error', (e) => { throw e; });
  const mp = { cmd: 'publish', topic: 'devices/s1/temp', payload: Buffer.from(payload), qos: 1, messageId: 7, retain: false, dup: false };
  const mqOps = rate(() => {
    parser.parse(mqttPacket.generate(mp));
  });
  const snBytes = encodeMessage(sn).length;
  const mqBytes = mqttPacket.generate(mp).length;
  rows.push({ payload: size, 'mqtt-sn ops/s (view)': Math.round(snOps), 'mqtt-sn ops/s (copy)': Math.round(snCopyOps), 'mqtt-packet ops/s': Math.round(mqOps), 'ratio (view)': Number((snOps / mqOps).toFixed(2)), 'ratio (copy)': Number((snCopyOps / mqOps).toFixed(2)), 'mqtt-sn bytes': snBytes, 'mqtt bytes': mqBytes });
  if (sink < 0) console.log(sink);
}
console.log(`node ${process.version}, mqtt-packet ${mqttPacketVersion}; encode+decode of one QoS 1 PUBLISH per op`);
console.table(rows);
