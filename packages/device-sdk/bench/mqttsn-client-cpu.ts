/**
 * The MQTT-SN client's own work per QoS 1 publish, without sockets: 10 `connectMqttSn` clients
 * over an in-memory datagram transport whose "gateway" answers every PUBLISH with PUBACK on the
 * next microtask, each client awaiting one publish after the other (one in flight, MQTT-SN 1.2
 * §6.6), as the fleet bench's device process does. What remains is the client's promise API →
 * state machine → encode → (transport) → decode → exchange → resolve path: CPU µs per message
 * of the device's own code (the fleet bench measures it with the UDP syscalls and the kernel).
 *
 *   npx tsx --conditions=@outpost/source packages/device-sdk/bench/mqttsn-client-cpu.ts [--messages=200000] [--runs=5]
 */
import { connectMqttSn, type DatagramBinder } from '@outpost/device-sdk/mqtt-sn';

const arg = (name: string, dflt: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? dflt : Number(a.slice(name.length + 3));
};
const CLIENTS = 10;
const MESSAGES = arg('messages', 200_000);
const RUNS = arg('runs', 5);

/** An in-memory gateway for one client: CONNACK, REGACK and PUBACK answered on the next microtask. */
const binder: DatagramBinder = async (onDatagram) => {
  const gw = { address: '127.0.0.1', port: 10000 };
  const reply = (b: Uint8Array): void => queueMicrotask(() => onDatagram(b, gw));
  return {
    send: (bytes) => {
      const b = bytes as Uint8Array;
      const type = b[1];
      if (type === 0x04) reply(Uint8Array.of(3, 0x05, 0)); // CONNECT → CONNACK
      else if (type === 0x0a) reply(Uint8Array.of(7, 0x0b, 0, 1, b[4] as number, b[5] as number, 0)); // REGISTER → REGACK id 1
      else if (type === 0x0c && ((b[2] as number) & 0x60) !== 0) reply(Uint8Array.of(7, 0x0d, b[3] as number, b[4] as number, b[5] as number, b[6] as number, 0)); // PUBLISH QoS 1 → PUBACK
      else if (type === 0x18) reply(Uint8Array.of(2, 0x18)); // DISCONNECT
    },
    address: () => ({ address: '127.0.0.1', port: 40000 }),
    close: async () => {},
  };
};

const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => connectMqttSn({ gateway: { host: '127.0.0.1', port: 10000 }, clientId: `c${i}`, transport: binder, keepAliveS: 120 })));
const ids = await Promise.all(clients.map((c, i) => c.register(`devices/gw-1/load/${i}`)));

async function run(total: number): Promise<{ cpuUs: number; wallMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(clients.map(async (c, i) => {
    const topic = { kind: 'normal' as const, id: ids[i] as number };
    for (let k = 0; k < total / CLIENTS; k++) await c.publish(topic, `${i}:${k}`, { qos: 1 });
  }));
  const c = process.cpuUsage(c0);
  return { cpuUs: c.user + c.system, wallMs: performance.now() - t0 };
}

await run(20_000); // warm-up
const rows: Array<Record<string, number>> = [];
for (let r = 0; r < RUNS; r++) {
  const x = await run(MESSAGES);
  rows.push({ run: r + 1, messages: MESSAGES, 'CPU µs/msg': Number((x.cpuUs / MESSAGES).toFixed(2)), 'msg/s (wall)': Math.round(MESSAGES / (x.wallMs / 1000)) });
}
console.log(`node ${process.version}; QoS 1 publishes from ${CLIENTS} MQTT-SN clients, one in flight each, in-memory gateway (no sockets)`);
console.table(rows);
const retx = clients.reduce((s, c) => s + c.retransmissions, 0);
if (retx !== 0) throw new Error(`expected no retransmissions, got ${retx}`);
for (const c of clients) await c.disconnect();
