/**
 * Block-wise transfers (RFC 7959): Block1 for request bodies (§2.5), Block2 for responses
 * (§2.4), both with size negotiation, reassembly bounded by `maxBodySize`.
 */
import { blockSizeOf, decodeBlock, encodeBlock, type BlockOption } from './block.js';
import { CoapMethodCode, CoapOptionNumber, encodeUintOption, findOption, formatCode, type CoapMessage, type CoapOption } from './codec.js';
import { CoapError } from './errors.js';
import type { OutboundRequest } from './endpoint.js';

/** Sends one message-level request (the endpoint). */
export type SendOne = (req: OutboundRequest) => Promise<CoapMessage>;

/** Block-wise settings of one request. */
export interface BlockwiseConfig {
  /** SZX for Block1 and, when `early2` is set, the Block2 size asked for in the first request. */
  readonly szx: number;
  /** Ask for Block2 size `szx` in the first request (RFC 7959 §2.4 early negotiation). */
  readonly early2: boolean;
  readonly maxBodySize: number;
  /** Ask for this one Block2 block and return it alone (RFC 7959 §2.4 random access). */
  readonly single?: number;
}

/** A response with its reassembled payload. */
export interface AssembledResponse {
  readonly last: CoapMessage;
  readonly payload: Uint8Array;
}

const BLOCK_OPTS = new Set<number>([CoapOptionNumber.Block1, CoapOptionNumber.Block2, CoapOptionNumber.Size1, CoapOptionNumber.Size2]);
const CONTINUE = (2 << 5) | 31; // 2.31 Continue (RFC 7959 §2.9.1)

const without = (opts: readonly CoapOption[], drop: ReadonlySet<number>): CoapOption[] => opts.filter((o) => !drop.has(o.number));

function block(m: CoapMessage, number: number): BlockOption | undefined {
  const v = findOption(m, number);
  return v === undefined ? undefined : decodeBlock(v);
}

/**
 * Runs one request with block-wise transfer in both directions as needed and returns the
 * final response with the whole body.
 */
export async function requestBlockwise(send: SendOne, req: OutboundRequest, cfg: BlockwiseConfig, newToken: () => Uint8Array): Promise<AssembledResponse> {
  const base = without(req.options, BLOCK_OPTS);
  if (cfg.single !== undefined) {
    const res = await send({ ...req, options: [...base, { number: CoapOptionNumber.Block2, value: encodeBlock({ num: cfg.single, more: false, szx: cfg.szx }) }] });
    if (res.payload.length > cfg.maxBodySize) throw tooLarge(req.label, res.payload.length, cfg.maxBodySize);
    return { last: res, payload: res.payload };
  }
  let res: CoapMessage;
  const size1 = blockSizeOf(cfg.szx);
  if (req.payload.length > size1) {
    res = await sendBlock1(send, req, base, cfg.szx, req.token ?? newToken());
  } else {
    const opts = cfg.early2 ? [...base, { number: CoapOptionNumber.Block2, value: encodeBlock({ num: 0, more: false, szx: cfg.szx }) }] : base;
    res = await send({ ...req, options: opts });
  }
  // Follow-ups repeat the request without its body (RFC 7959 §3.2), except FETCH, whose body
  // selects what is fetched (RFC 8132 §2).
  const followPayload = req.code === CoapMethodCode.FETCH && req.payload.length <= size1 ? req.payload : new Uint8Array(0);
  return collectBlock2(send, { ...req, options: base, payload: followPayload }, res, cfg.maxBodySize, newToken);
}

/**
 * RFC 7959 §2.3/§2.5: the blocks of one request body are one transfer: one token for all of
 * them (servers such as node-coap key their reassembly by token), picked before the first.
 */
async function sendBlock1(send: SendOne, req: OutboundRequest, base: CoapOption[], szx0: number, token: Uint8Array): Promise<CoapMessage> {
  const body = req.payload;
  let szx = szx0;
  let offset = 0;
  for (;;) {
    const size = blockSizeOf(szx);
    const end = Math.min(offset + size, body.length);
    const more = end < body.length;
    const opts: CoapOption[] = [...base, { number: CoapOptionNumber.Block1, value: encodeBlock({ num: offset / size, more, szx }) }];
    if (offset === 0) opts.push({ number: CoapOptionNumber.Size1, value: encodeUintOption(body.length) }); // RFC 7959 §4
    const res = await send({ ...req, token, options: opts, payload: body.subarray(offset, end) });
    if (!more) return res;
    if (res.code !== CONTINUE) return res; // the server answered early (e.g. 4.13): that is the response
    const ack = block(res, CoapOptionNumber.Block1);
    if (ack === undefined || ack.num !== offset / size) {
      throw new CoapError('BLOCK_MISMATCH', `${req.label}: 2.31 Continue for block ${String(ack?.num)}, expected ${offset / size}`, { responseCode: formatCode(res.code) });
    }
    offset = end;
    // RFC 7959 §2.5: the server may ask for smaller blocks; offsets stay aligned because
    // sizes are powers of two and only ever shrink.
    if (ack.szx < szx) szx = ack.szx;
  }
}

/** Fetches the remaining blocks after a first Block2 response (RFC 7959 §2.4, §2.6). */
export async function collectBlock2(send: SendOne, follow: OutboundRequest, first: CoapMessage, maxBodySize: number, newToken: () => Uint8Array): Promise<AssembledResponse> {
  const b0 = block(first, CoapOptionNumber.Block2);
  if (b0 === undefined || !b0.more) {
    if (first.payload.length > maxBodySize) throw tooLarge(follow.label, first.payload.length, maxBodySize);
    return { last: first, payload: first.payload };
  }
  const etag = findOption(first, CoapOptionNumber.ETag);
  const parts: Uint8Array[] = [first.payload];
  let total = first.payload.length;
  let szx = b0.szx;
  let offset = b0.num * blockSizeOf(b0.szx) + first.payload.length;
  if (b0.num !== 0) throw new CoapError('BLOCK_MISMATCH', `${follow.label}: first Block2 response is block ${b0.num}, expected 0`);
  // RFC 7959 §2.6: follow-ups without Observe, with a fresh token.
  const base = without(follow.options, new Set([CoapOptionNumber.Observe]));
  const token = newToken();
  let last = first;
  for (let more = true; more; ) {
    const size = blockSizeOf(szx);
    const num = offset / size;
    const res = await send({ ...follow, token, options: [...base, { number: CoapOptionNumber.Block2, value: encodeBlock({ num, more: false, szx }) }] });
    if (res.code >> 5 !== 2) throw new CoapError('RESPONSE_ERROR', `${follow.label}: block ${num} answered ${formatCode(res.code)}`, { responseCode: formatCode(res.code) });
    const b = block(res, CoapOptionNumber.Block2);
    if (b === undefined || b.num * blockSizeOf(b.szx) !== offset) {
      throw new CoapError('BLOCK_MISMATCH', `${follow.label}: asked for the block at offset ${offset}, got ${b === undefined ? 'no Block2' : `block ${b.num} of ${blockSizeOf(b.szx)} bytes`}`);
    }
    const tag = findOption(res, CoapOptionNumber.ETag);
    if (etag !== undefined && (tag === undefined || Buffer.compare(tag, etag) !== 0)) {
      throw new CoapError('BLOCK_MISMATCH', `${follow.label}: the resource changed during the block-wise transfer (ETag differs at block ${b.num})`);
    }
    total += res.payload.length;
    if (total > maxBodySize) throw tooLarge(follow.label, total, maxBodySize);
    parts.push(res.payload);
    offset += res.payload.length;
    szx = b.szx;
    more = b.more;
    last = res;
    if (more && res.payload.length !== blockSizeOf(b.szx)) throw new CoapError('BLOCK_MISMATCH', `${follow.label}: block ${b.num} has ${res.payload.length} bytes, expected ${blockSizeOf(b.szx)}`);
  }
  const payload = new Uint8Array(total);
  let p = 0;
  for (const part of parts) {
    payload.set(part, p);
    p += part.length;
  }
  return { last, payload };
}

function tooLarge(label: string, n: number, max: number): CoapError {
  return new CoapError('BODY_TOO_LARGE', `${label}: body of ${n} bytes exceeds maxBodySize ${max}`);
}
