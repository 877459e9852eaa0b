// PUBACK order on the wire: MQTT 3.1.1 §4.6 and MQTT 5 [MQTT-4.6.0-2] require a receiver to send
// PUBACKs in the order the PUBLISHes arrived. A TCP proxy between the consumer and a real
// Mosquitto parses both directions with mqtt-packet: the PUBLISH packet ids the broker sent and
// the PUBACK packet ids the consumer sent. The pipeline's sink completes the writes in a seeded
// shuffled order. (A plain-TCP Mosquitto listener here: with the fleet's mTLS the proxy would
// see only ciphertext; the session code is the same for both.)
import { createServer, connect, type Server, type Socket } from 'node:net';
import mqtt from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, mulberry32, startMosquitto, tempDir, type Mosquitto } from '@outpost/test-peers';
import { callbackDeadLetterSink } from '../src/dead-letter.js';
import { connectIngest } from '../src/ingest.js';
import { createPipeline } from '../src/pipeline.js';
import type { TelemetrySink } from '../src/types.js';

const N = 60;
let broker: Mosquitto;
const dir = tempDir('outpost-ack-order-');
beforeAll(async () => {
  broker = await startMosquitto({
    dir: dir.path,
    config: (port) => [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', `max_inflight_messages ${N * 2}`, 'max_queued_messages 0'].join('\n'),
  });
});
afterAll(async () => {
  await broker?.stop();
  dir.cleanup();
});

interface Wire {
  readonly server: Server;
  readonly port: number;
  /** PUBLISH packet ids, broker → consumer, in wire order. */
  readonly published: number[];
  /** PUBACK packet ids, consumer → broker, in wire order. */
  readonly acked: number[];
}

/** A TCP proxy to the broker that records the QoS 1 traffic of the consumer's connection. */
async function proxy(target: number): Promise<Wire> {
  const published: number[] = [];
  const acked: number[] = [];
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    sockets.push(client, upstream);
    const up = mqttPacket.parser({ protocolVersion: 5 });
    const down = mqttPacket.parser({ protocolVersion: 5 });
    up.on('packet', (p: Packet) => {
      if (p.cmd === 'puback') acked.push(p.messageId as number);
    });
    down.on('packet', (p: Packet) => {
      if (p.cmd === 'publish' && p.qos === 1) published.push(p.messageId as number);
    });
    client.on('data', (d: Buffer) => {
      up.parse(d);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      down.parse(d);
      client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  return { server, port, published, acked };
}

const until = async (cond: () => boolean, what: string, ms = 15_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('PUBACK order on the wire', () => {
  it('with the sink completing writes out of order, the PUBACK packet ids leave in the order the PUBLISHes arrived', async () => {
    const wire = await proxy(broker.port);
    // A sink whose writes settle when the test says, in a seeded shuffled order.
    const waiting: { v: number; resolve: () => void }[] = [];
    const sink: TelemetrySink = {
      name: 'shuffled',
      write: (points) => new Promise<void>((resolve) => waiting.push({ v: points[0]?.value as number, resolve })),
      async flush() {},
      async close() {},
    };
    // One sink write per message (maxWritePoints 1), so each message completes on its own.
    const pipeline = createPipeline({ sinks: [sink], deadLetter: callbackDeadLetterSink(() => {}), maxWritePoints: 1 });
    const ingest = await connectIngest({ url: `mqtt://127.0.0.1:${wire.port}`, insecure: true, clientId: 'ack-order' }, (m) => pipeline.handle(m));
    const dev = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'ack-order-dev', protocolVersion: 5, reconnectPeriod: 0 });
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < N; i++) await dev.publishAsync('devices/order-dev/telemetry', JSON.stringify({ ts: t0 + i, v: i }), { qos: 1 });
    await until(() => waiting.length === N, `${N} sink writes`);
    expect(wire.acked).toEqual([]); // nothing durable yet, nothing acknowledged

    const rnd = mulberry32(0xac4);
    const order = waiting.map((_, i) => i).sort(() => rnd() - 0.5);
    const completed: number[] = [];
    for (const i of order) {
      const w = waiting[i] as { v: number; resolve: () => void };
      completed.push(w.v);
      w.resolve();
      await new Promise((r) => setImmediate(r));
    }
    await until(() => wire.acked.length === N, `${N} PUBACKs on the wire`);
    expect(completed).not.toEqual([...completed].sort((a, b) => a - b)); // the sink really completed out of order
    expect(wire.published).toHaveLength(N);
    expect(wire.acked).toEqual(wire.published); // today's consumer sent them in completion order
    expect(ingest.stats()).toMatchObject({ received: N, acked: N, pending: 0 });
    await dev.endAsync();
    await ingest.close();
    await pipeline.close();
    wire.server.close();
  });
});
