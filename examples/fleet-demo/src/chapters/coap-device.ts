// Chapter: a constrained CoAP device read and observed over DTLS-PSK (coaps://). The device
// here is libcoap's coap-server-openssl, started on free 127.0.0.1 ports if it is installed;
// without it the chapter says so and is skipped (libcoap is a test peer, not a demo
// requirement). Per-device PSK: the key below belongs to this one device only.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { connectCoap, type CoapClient } from '@outpost/device-sdk/coap';
import type { Chapter } from '../context.js';

const BINARY = 'coap-server-openssl';

function findBinary(): string | undefined {
  const dirs = (process.env['PATH'] ?? '').split(':').concat(['/usr/bin', '/usr/local/bin']);
  for (const d of dirs) {
    if (d === '') continue;
    try {
      accessSync(join(d, BINARY), constants.X_OK);
      return join(d, BINARY);
    } catch {
      // not here
    }
  }
  return undefined;
}

const bind = (port: number): Promise<Socket | undefined> =>
  new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => { s.close(); resolve(undefined); });
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
const close = (s: Socket): Promise<void> => new Promise((r) => s.close(() => r()));

/** A free UDP port on 127.0.0.1 whose successor (libcoap's DTLS port) is free too. */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const a = await bind(0);
    if (a === undefined) continue;
    const port = a.address().port;
    const b = await bind(port + 1);
    await close(a);
    if (b !== undefined) {
      await close(b);
      return port;
    }
  }
  throw new Error('no free UDP port pair on 127.0.0.1');
}

/** The chapter, with the libcoap lookup replaceable so the test can take the "not installed" path. */
export function makeCoapDevice(locate: () => string | undefined = findBinary): Chapter {
  return {
    id: 'coapDevice',
    title: 'A constrained device over CoAP: read, observe and a block-wise PUT over DTLS-PSK',
    async run(ctx) {
      const bin = locate();
      if (bin === undefined) {
        ctx.say(`  ${BINARY} (libcoap) is not installed: skipping this chapter (apt-get install libcoap3-bin to see it)`);
        ctx.summary['coapDevice'] = { skipped: true, reason: `${BINARY} not installed` };
        return;
      }
      const identity = 'thermo-42';
      const key = `psk-${identity}-${Math.random().toString(36).slice(2)}`; // this device's own key
      const port = await freePortPair();
      const server: ChildProcess = spawn(bin, ['-A', '127.0.0.1', '-p', String(port), '-k', key, '-h', '', '-e', '-v', '3'], { stdio: 'ignore' });
      let client: CoapClient | undefined;
      try {
        // The DTLS handshake doubles as the readiness check: retry while the server starts.
        for (let attempt = 0; client === undefined; attempt++) {
          try {
            client = await connectCoap(`coaps://127.0.0.1:${port + 1}`, { psk: { identity, key }, handshakeTimeout: 300, blockSize: 64 });
          } catch (err) {
            if (attempt >= 10 || server.exitCode !== null) throw err;
          }
        }
        ctx.say(`  device ${identity} on coaps://127.0.0.1:${port + 1} (DTLS 1.2 PSK, a key of its own)`);
        const time = await client.get('/time');
        ctx.say(`  GET /time → ${time.code} "${time.text()}"`);

        const ac = new AbortController();
        const seqs: number[] = [];
        for await (const n of client.observe('/time', { signal: ac.signal })) {
          seqs.push(n.observe ?? -1);
          ctx.say(`  notification ${seqs.length}: "${n.text()}" (Observe ${String(n.observe)})`);
          if (seqs.length === 3) ac.abort(); // deregisters (RFC 7641 §3.6)
        }

        const readings = Array.from({ length: 8 }, (_, i) => ({ n: `temp${i}`, u: 'Cel', v: 20 + i / 4 }));
        const records = [{ bn: `urn:dev:${identity}:`, bt: 1_700_000_000, ...readings[0] }, ...readings.slice(1)];
        const before = client.stats.sent;
        const put = await client.put('/example_data', records, { format: 'application/senml+cbor' });
        const putDatagrams = client.stats.sent - before;
        const echoed = JSON.stringify(put.value()) === JSON.stringify(records);
        ctx.say(`  PUT /example_data: ${records.length} SenML records in ${put.payload.length} bytes of CBOR, sent as ${putDatagrams} datagrams of ≤64-byte blocks → ${put.code}, echo ${echoed ? 'matches' : 'DIFFERS'}`);
        ctx.summary['coapDevice'] = {
          skipped: false,
          secure: true,
          time: time.text(),
          notifications: seqs.length,
          observeIncreasing: seqs.every((s, i) => i === 0 || s > seqs[i - 1]!),
          putBytes: put.payload.length,
          putDatagrams,
          echoed,
          retransmissions: client.stats.retransmissions,
        };
      } finally {
        await client?.close();
        if (server.exitCode === null) {
          await new Promise<void>((r) => { server.once('exit', () => r()); server.kill('SIGTERM'); });
        }
      }
    },
  };
}

export const coapDevice: Chapter = makeCoapDevice();
