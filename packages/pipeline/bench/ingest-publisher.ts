// Child process of bench/ingest.ts: publishes every message of the bench as fast as QoS 1 flow
// control allows, one connection per device, and reports when the broker acknowledged them all.
import mqtt from 'mqtt';
import { payload } from './ingest-data.js';

interface Start {
  url: string;
  ca: string;
  devices: { id: string; cert: string; key: string }[];
  messagesPerDevice: number;
  t0: number;
}

process.once('message', (msg: Start) => {
  void (async () => {
    const clients = await Promise.all(
      msg.devices.map((d) => mqtt.connectAsync(msg.url, { ca: msg.ca, cert: d.cert, key: d.key, clientId: d.id, protocolVersion: 5, reconnectPeriod: 0 })),
    );
    process.send?.({ ready: true });
    let acked = 0;
    const total = msg.devices.length * msg.messagesPerDevice;
    for (let seq = 0; seq < msg.messagesPerDevice; seq++) {
      for (const [d, c] of clients.entries()) {
        c.publish(`devices/${msg.devices[d]?.id ?? ''}/telemetry`, payload(d, seq, msg.t0), { qos: 1 }, () => { acked++; });
      }
      if (seq % 50 === 49) await new Promise((r) => setImmediate(r)); // let the sockets drain
    }
    while (acked < total) await new Promise((r) => setTimeout(r, 10));
    await Promise.all(clients.map((c) => c.endAsync()));
    process.send?.({ done: true, sent: total });
  })();
});
