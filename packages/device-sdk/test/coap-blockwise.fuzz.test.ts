/**
 * Block-wise transfers both ways against an in-memory server that picks its own sizes (a fake:
 * FakeLink; the real-server cases are in coap-node-coap.test.ts and coap-libcoap.test.ts).
 * For any body, any client block size and any size the server asks for (RFC 7959 §2.5 lets it
 * only shrink), the server reassembles exactly the client's body from blocks under one token
 * (§2.3), and the client reassembles exactly the server's Block2 reply (§2.4).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock } from '../src/coap/block.js';
import { CoapOptionNumber, connectCoap, type BlockSize, type CoapMessage } from '../src/coap/index.js';
import { findOption } from '../src/coap/codec.js';
import { ManualClock } from './fixtures/coap-clock.js';
import { FakeLink } from './fixtures/coap-link.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const blk = (m: CoapMessage, n: number): ReturnType<typeof decodeBlock> | undefined => {
  const v = findOption(m, n);
  return v === undefined ? undefined : decodeBlock(v);
};

describe('block-wise both ways (RFC 7959) against a server choosing its sizes', () => {
  it('bodies arrive whole, Block1 under one token', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 3000, size: 'max' }),
        fc.constantFrom<BlockSize>(16, 32, 64, 128, 256, 512, 1024),
        fc.integer({ min: 0, max: 6 }),
        fc.uint8Array({ maxLength: 3000, size: 'max' }),
        fc.integer({ min: 0, max: 6 }),
        async (body, blockSize, serverSzx1, reply, serverSzx2) => {
          const link = new FakeLink();
          const client = await connectCoap('coap://127.0.0.1', { insecure: true, transport: link.binder, clock: new ManualClock(), random: () => 0, blockSize });
          let settled = false;
          const p = client.request('PUT', '/b', body).finally(() => { settled = true; });
          const received: Uint8Array[] = [];
          const block1Tokens = new Set<string>();
          let reassembled: Buffer | undefined;
          for (let steps = 0; !settled && steps < 2000; steps++) {
            await flush();
            if (settled) break;
            const req = link.last();
            const b1 = blk(req, CoapOptionNumber.Block1);
            const b2 = blk(req, CoapOptionNumber.Block2);
            const ack = (code: number, options: CoapMessage['options'], payload: Uint8Array): void =>
              link.reply({ type: 'ACK', code, messageId: req.messageId, token: req.token, options, payload });
            if (reassembled === undefined && b1 !== undefined) {
              block1Tokens.add(hex(req.token));
              expect(b1.num * 2 ** (b1.szx + 4)).toBe(received.reduce((n, x) => n + x.length, 0)); // in order, no gap
              received.push(req.payload);
              if (b1.more) {
                // 2.31 Continue, maybe asking for smaller blocks (§2.5: only ever smaller)
                ack(0x5f, [{ number: CoapOptionNumber.Block1, value: encodeBlock({ num: b1.num, more: true, szx: Math.min(b1.szx, serverSzx1) }) }], new Uint8Array(0));
                continue;
              }
              reassembled = Buffer.concat(received);
            } else if (reassembled === undefined) {
              reassembled = Buffer.from(req.payload); // small enough for one message
            }
            // The reply, Block2 at the server's size unless the client asked for a smaller one.
            const size = 2 ** (Math.min(serverSzx2, b2?.szx ?? 6) + 4);
            const num = b2 === undefined || b1 !== undefined ? 0 : (b2.num * 2 ** (b2.szx + 4)) / size;
            const part = reply.subarray(num * size, (num + 1) * size);
            const more = (num + 1) * size < reply.length;
            const opts = reply.length > size || num > 0 ? [{ number: CoapOptionNumber.Block2, value: encodeBlock({ num, more, szx: Math.log2(size) - 4 }) }] : [];
            ack(0x44, opts, part);
          }
          const res = await p;
          expect(res.code).toBe('2.04');
          expect(hex(reassembled!)).toBe(hex(body));
          expect(block1Tokens.size).toBeLessThanOrEqual(1);
          expect(hex(res.payload)).toBe(hex(reply));
          await client.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});
