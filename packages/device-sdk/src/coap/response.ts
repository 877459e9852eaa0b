/** A CoAP response as the client hands it out. */
import { CoapOptionNumber, decodeUintOption, findOption, formatCode, type CoapMessage, type CoapOption, type CoapType } from './codec.js';
import { decodeBody } from './content-format.js';
import { CoapError } from './errors.js';

const utf8d = new TextDecoder();

/**
 * A response (or notification): code, options, the whole payload (block-wise transfers
 * already reassembled) and decoders by Content-Format.
 *
 * @example
 * ```ts
 * const res = await client.get('/time');
 * res.code; // '2.05'
 * res.ok; // true
 * console.log(res.text()); // e.g. "Nov 27 16:30:02"
 * ```
 */
export class CoapResponse {
  /** Response code as `c.dd`, e.g. `'2.05'`. */
  readonly code: string;
  /** The 8-bit response code. */
  readonly codeNumber: number;
  /** Message type the response arrived in. */
  readonly type: CoapType;
  /** All options of the (last block's) message. */
  readonly options: readonly CoapOption[];
  /** The payload; for a block-wise transfer, all blocks joined. */
  readonly payload: Uint8Array;
  /** Content-Format number, if the server sent one. */
  readonly format: number | undefined;
  /** Observe sequence number of a notification (RFC 7641 §2). */
  readonly observe: number | undefined;

  constructor(msg: CoapMessage, payload: Uint8Array = msg.payload) {
    this.code = formatCode(msg.code);
    this.codeNumber = msg.code;
    this.type = msg.type;
    this.options = msg.options;
    this.payload = payload;
    const cf = findOption(msg, CoapOptionNumber.ContentFormat);
    this.format = cf === undefined ? undefined : decodeUintOption(cf);
    const obs = findOption(msg, CoapOptionNumber.Observe);
    this.observe = obs === undefined ? undefined : decodeUintOption(obs);
  }

  /** True for 2.xx. */
  get ok(): boolean {
    return this.codeNumber >> 5 === 2;
  }

  /** The payload as UTF-8 text. */
  text(): string {
    return utf8d.decode(this.payload);
  }

  /** The payload decoded by its Content-Format (see `decodeBody`); raw bytes for unknown formats. */
  value(): unknown {
    return decodeBody(this.payload, this.format);
  }

  /** The payload parsed as JSON regardless of the Content-Format. */
  json(): unknown {
    try {
      return JSON.parse(this.text()) as unknown;
    } catch (err) {
      throw new CoapError('MALFORMED', `response payload is not JSON: ${(err as Error).message}`, { cause: err, responseCode: this.code });
    }
  }
}
