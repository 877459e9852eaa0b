/**
 * The gateway's own work per forwarded QoS 1 message, without sockets, TLS or a broker: 10
 * MQTT-SN clients' PUBLISHes handed to MqttSnGateway through an in-memory datagram transport,
 * a broker link that acknowledges every publish on the next microtask, PUBACKs counted as they
 * leave. What remains is the gateway's decode → session → broker command → PUBACK encode path,
 * so the figure is CPU µs per message of that path alone (the fleet bench measures the whole
 * trip with real sockets, at the mercy of the machine's load).
 *
 * `MODE=aggregating`: the same through the aggregating mode (one link for all; admission,
 * the namespace check per PUBLISH and the link's in-flight count added to the path).
 *
 *   [MODE=aggregating] npx tsx --conditions=@outpost/source packages/device-sdk/bench/mqttsn-gateway-cpu.ts
 */
import { MqttSnGateway, encodeMessage, type BrokerLink, type DatagramBinder, type MqttSnMessage } from '@outpost/device-sdk/mqtt-sn';

const CLIENTS = 10;
const ROUNDS = Number(process.env['ROUNDS'] ?? 20_000);
let deliver: (d: Uint8Array, from: { address: string; port: number }) => void = () => {};
let pubacks = 0;
const binder: DatagramBinder = async (onDatagram) => {
  deliver = onDatagram;
  return {
    send: (b) => {
      const bytes = b as Uint8Array;
      if (bytes[1] === 0x0d) pubacks += 1; // PUBACK
    },
    address: () => ({ address: '127.0.0.1', port: 10000 }),
    close: async () => {},
  };
};
const link: BrokerLink & { publishCallback: NonNullable<BrokerLink['publishCallback']> } = {
  publish: () => Promise.resolve(),
  publishCallback: (_t, _p, _q, _r, done) => queueMicrotask(() => done()),
  subscribe: async (_f, q) => q,
  unsubscribe: async () => {},
  end: async () => {},
  listen: () => {},
};
const MODE = process.env['MODE'] === 'aggregating' ? 'aggregating' : 'transparent';
const gw = new MqttSnGateway({
  broker: { url: 'mqtts://127.0.0.1:1' }, identity: { clientId: 'gw', cert: 'x', key: 'y' }, transport: binder, connectBroker: async () => link,
  ...(MODE === 'aggregating' ? { mode: 'aggregating' as const, admit: (c: string) => c.startsWith('c'), namespace: ['devices/gw/#'] } : { useGatewayIdentity: 'always' as const }),
});
await gw.start();
const peer = (i: number): { address: string; port: number } => ({ address: '10.0.0.1', port: 40000 + i });
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
for (let i = 0; i < CLIENTS; i++) deliver(encodeMessage({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, durationS: 60, clientId: `c${i}` }), peer(i));
await tick();
for (let i = 0; i < CLIENTS; i++) deliver(encodeMessage({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: `devices/gw/load/${i}` }), peer(i));
await tick();
const payload = new TextEncoder().encode('0123456789abcdef');
const datagrams = Array.from({ length: CLIENTS }, (_, i) => (k: number): Uint8Array => encodeMessage({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topic: { kind: 'normal', id: 1 }, msgId: (k % 0xfffe) + 1, payload } as MqttSnMessage));
async function run(rounds: number): Promise<{ cpuUs: number; wallMs: number }> {
  pubacks = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let k = 0; k < rounds; k++) {
    for (let i = 0; i < CLIENTS; i++) deliver((datagrams[i] as (k: number) => Uint8Array)(k), peer(i));
    await tick();
  }
  const c = process.cpuUsage(c0);
  if (pubacks !== rounds * CLIENTS) throw new Error(`expected ${rounds * CLIENTS} PUBACKs, got ${pubacks}`);
  return { cpuUs: c.user + c.system, wallMs: performance.now() - t0 };
}
await run(2000); // warm-up
const r = await run(ROUNDS);
const n = ROUNDS * CLIENTS;
console.log(`node ${process.version}; ${MODE}; ${n} QoS 1 PUBLISHes from ${CLIENTS} clients, 16-byte payloads (encoding the inbound datagrams included)`);
console.table([{ messages: n, 'CPU µs/msg': Number((r.cpuUs / n).toFixed(2)), 'msg/s (wall)': Math.round(n / (r.wallMs / 1000)) }]);
await gw.close();
