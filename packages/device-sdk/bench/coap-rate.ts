// Confirmable CoAP request rate on loopback against libcoap's coap-server-openssl, against the
// raw UDP round-trip rate to the same server in the same run, alternating rounds.
//
//   npx tsx --conditions=@outpost/source packages/device-sdk/bench/coap-rate.ts   # ROUNDS=15 N=2000
//
// raw:      a dgram socket sends a pre-encoded CON GET /time (only the message id changes) and
//           waits for the piggybacked ACK before sending the next: the floor for one
//           request-response on this machine (kernel, loopback, libcoap).
// client:   CoapClient.get('/time') one at a time (NSTART 1, the RFC default): codec, message
//           layer, token/MID matching, timers, promises and response decoding on top.
// client×8: the same with nstart 8 and 8 requests outstanding (a pipelined load).
// node-coap: the `coap` package's request() one at a time, for reference (no DTLS, process-wide
//           timing), against a second libcoap instance.
// Reported: requests/s per round, the median and the best round, and client/raw for both. On
// a shared machine single rounds swing by 2× or more; the best round is the least disturbed
// view of each side's own cost, the median the typical one.
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import coap from 'coap';
import { connectCoap, encodeMessage } from '@outpost/device-sdk/coap';
import { startCoapServer } from '../test/fixtures/coap-server.js';

const ROUNDS = Number(process.env['ROUNDS'] ?? 15);
const N = Number(process.env['N'] ?? 2000);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

async function main(): Promise<void> {
  const server = await startCoapServer({ echo: false });
  // node-coap gets a server of its own: against a shared one, every rate fell round by round.
  const server2 = await startCoapServer({ echo: false });
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => sock.connect(server.port, '127.0.0.1', () => r())));
  let waiting: (() => void) | undefined;
  sock.on('message', () => {
    const w = waiting;
    waiting = undefined;
    w?.();
  });
  const path = new TextEncoder().encode('time');
  const template = encodeMessage({ type: 'CON', code: 1, messageId: 0, token: Uint8Array.of(1, 2, 3, 4), options: [{ number: 11, value: path }], payload: new Uint8Array(0) });
  const bytes = Buffer.from(template);
  let mid = 0;
  const raw = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      mid = (mid + 1) & 0xffff;
      bytes[2] = mid >> 8;
      bytes[3] = mid & 0xff;
      await new Promise<void>((resolve) => {
        waiting = resolve;
        sock.send(bytes);
      });
    }
  };
  const client = await connectCoap(server.url, { insecure: true });
  const piped = await connectCoap(server.url, { insecure: true, timing: { nstart: 8 } });
  const seq = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await client.get('/time');
  };
  const par = async (n: number): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next++ < n) await piped.get('/time');
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  };
  const agent = new coap.Agent({ type: 'udp4' });
  const nodeCoap = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = coap.request({ hostname: '127.0.0.1', port: server2.port, pathname: '/time', confirmable: true, agent });
        req.on('response', (res: { resume(): void }) => { res.resume(); resolve(); });
        req.on('error', reject);
        req.end();
      });
    }
  };
  const runs: Record<string, (n: number) => Promise<void>> = { raw, client: seq, 'client×8': par, 'node-coap': nodeCoap };
  const rates: Record<string, number[]> = { raw: [], client: [], 'client×8': [], 'node-coap': [] };
  for (const f of Object.values(runs)) await f(500); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, f] of Object.entries(runs)) {
      const t0 = performance.now();
      await f(N);
      const rate = N / ((performance.now() - t0) / 1000);
      rates[name]!.push(rate);
    }
    console.log(`round ${r + 1}: ${Object.entries(rates).map(([k, v]) => `${k} ${Math.round(v[r]!)}/s`).join(', ')}`);
  }
  const m = Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, median(v)])) as Record<string, number>;
  const best = Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, Math.max(...v)])) as Record<string, number>;
  console.log(`\n${ROUNDS} rounds of ${N} confirmable GET /time each:      median            best round`);
  for (const k of Object.keys(rates)) {
    console.log(`  ${k.padEnd(10)} ${String(Math.round(m[k]!)).padStart(7)} req/s (${(1e6 / m[k]!).toFixed(0).padStart(4)} µs)   ${String(Math.round(best[k]!)).padStart(7)} req/s (${(1e6 / best[k]!).toFixed(0).padStart(4)} µs)`);
  }
  console.log(`  client/raw ${(m['client']! / m['raw']!).toFixed(2)} (median), ${(best['client']! / best['raw']!).toFixed(2)} (best); retransmissions: ${client.stats.retransmissions + piped.stats.retransmissions}`);
  await client.close();
  await piped.close();
  agent.close();
  sock.close();
  await server.stop();
  await server2.stop();
}

await main();
