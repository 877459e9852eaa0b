// The consumer's inbound decoding alone, CPU per PUBLISH: packet-reader.ts against mqtt-packet's
// parser (what the session used before) on the same bytes — MESSAGES MQTT 5 QoS 1 PUBLISHes of
// the ingest bench's shape (topic devices/meter-N/telemetry, its JSON payload) cut into 16 KiB
// chunks as the session reads them. Rounds alternate; medians. CPU time, so the load moves it
// little.
//   npx tsx --conditions=@outpost/source packages/pipeline/bench/publish-parse.ts [MESSAGES] [ROUNDS]
import { loadavg } from 'node:os';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { PacketReader } from '../src/packet-reader.js';
import { payload } from './ingest-data.js';

const MESSAGES = Number(process.argv[2] ?? 50_000);
const ROUNDS = Number(process.argv[3] ?? 7);
const t0 = Date.now();
const bytes = Buffer.concat(Array.from({ length: MESSAGES }, (_, i) => mqttPacket.generate({ cmd: 'publish', topic: `devices/meter-${i % 20}/telemetry`, payload: Buffer.from(payload(i % 20, Math.floor(i / 20), t0)), qos: 1, messageId: 1 + (i % 65_535), retain: false, dup: false } as Packet, { protocolVersion: 5 })));
const chunks: Buffer[] = [];
for (let i = 0; i < bytes.length; i += 16_384) chunks.push(bytes.subarray(i, i + 16_384));

function ours(): number {
  let n = 0;
  const r = new PacketReader(5, () => { n++; });
  for (const c of chunks) r.push(c);
  return n;
}
function theirs(): number {
  let n = 0;
  const p = mqttPacket.parser({ protocolVersion: 5 });
  p.on('packet', () => { n++; });
  for (const c of chunks) p.parse(c);
  return n;
}

const results: Record<string, number[]> = { 'packet-reader.ts': [], 'mqtt-packet parser': [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, f] of [['packet-reader.ts', ours], ['mqtt-packet parser', theirs]] as const) {
    const c = process.cpuUsage();
    const n = f();
    const u = process.cpuUsage(c);
    if (n !== MESSAGES) throw new Error(`${name} parsed ${n} of ${MESSAGES}`);
    results[name]?.push((u.user + u.system) / MESSAGES);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
console.log(`Inbound PUBLISH decoding, ${MESSAGES.toLocaleString('en-US')} MQTT 5 QoS 1 PUBLISHes in ${chunks.length} chunks of 16 KiB, CPU µs per PUBLISH (median of ${ROUNDS}, first round included):`);
for (const [name, xs] of Object.entries(results)) console.log(`  ${name.padEnd(20)} ${median(xs).toFixed(2)}  (rounds: ${xs.map((x) => x.toFixed(2)).join(' ')})`);
console.log(`  load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
