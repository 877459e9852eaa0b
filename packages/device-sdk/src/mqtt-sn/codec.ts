// Pure MQTT-SN 1.2 codec: Uint8Array in, MqttSnMessage out (and back). No sockets, no timers.
// The API; the decoder is codec-decode.ts, the encoder codec-encode.ts (one function per family).
import { describe } from './bytes.js';
import { bytesOf, int } from './codec-fields.js';
import { decodeAt } from './codec-decode.js';
import { encodeOther, encodePuback, encodePublish } from './codec-encode.js';
import { MqttSnError } from './errors.js';
import { MsgType, type MqttSnMessage } from './messages.js';

/** Options for {@link decodeMessage} and {@link decodeFrame}. */
export interface DecodeOptions {
  /** Largest accepted message length in bytes (default 65535, the 3-byte Length maximum). */
  readonly maxLength?: number;
  /**
   * A PUBLISH payload is a view into `bytes` instead of a copy (default false). Zero-copy for a
   * caller that owns the buffer and does not reuse it (a received datagram); with it, changing
   * `bytes` later changes the payload.
   */
  readonly aliasPayload?: boolean;
}

/**
 * A decoded message and how many bytes it took, from {@link decodeFrame}.
 *
 * @example
 * ```ts
 * import { decodeFrame, type DecodedFrame } from '@outpost/device-sdk/mqtt-sn';
 * const f: DecodedFrame = decodeFrame(new Uint8Array([0x02, 0x17, 0x02, 0x17]));
 * f.bytesRead; // 2
 * ```
 */
export interface DecodedFrame {
  readonly message: MqttSnMessage;
  readonly bytesRead: number;
}

// ---------------------------------------------------------------- decoding

/**
 * Decodes exactly one MQTT-SN message (one UDP datagram).
 *
 * @param bytes - the datagram; views are read without copying, payloads are copied out.
 * @returns the message as a discriminated union on `type`.
 * @throws MqttSnError `INCOMPLETE` (with `needed`) when the Length field promises more bytes
 *   than given; `MALFORMED` (with `offset`) for invalid fields or trailing bytes;
 *   `UNKNOWN_TYPE` for an unknown MsgType; `TOO_LARGE` over `maxLength`.
 * @throws TypeError if `bytes` is not a Uint8Array.
 *
 * @example
 * ```ts
 * import { decodeMessage } from '@outpost/device-sdk/mqtt-sn';
 * const m = decodeMessage(new Uint8Array([0x07, 0x0d, 0x00, 0x01, 0x00, 0x07, 0x00]));
 * m.type; // 'PUBACK'
 * decodeMessage(new Uint8Array([0x03, 0x05, 0x00])).type; // 'CONNACK'
 * ```
 */
export function decodeMessage(bytes: Uint8Array, options: DecodeOptions = {}): MqttSnMessage {
  const { message, bytesRead } = decodeFrame(bytes, options);
  if (bytesRead !== bytes.length) {
    throw new MqttSnError('MALFORMED', `${message.type}: Length says ${bytesRead} bytes, datagram has ${bytes.length} at offset ${bytesRead}`, { offset: bytesRead });
  }
  return message;
}

/**
 * Decodes the first MQTT-SN message in `bytes` (a stream or a buffer of several messages)
 * and reports how many bytes it used.
 *
 * @throws MqttSnError as {@link decodeMessage}, except that trailing bytes are allowed.
 *
 * @example
 * ```ts
 * import { decodeFrame } from '@outpost/device-sdk/mqtt-sn';
 * const f = decodeFrame(new Uint8Array([0x02, 0x16, 0xff]));
 * f.message.type; // 'PINGREQ'
 * f.bytesRead;    // 2
 * ```
 */
export function decodeFrame(bytes: Uint8Array, options: DecodeOptions = {}): DecodedFrame {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`decodeMessage: bytes: expected a Uint8Array, got ${describe(bytes)}`);
  if (options === null || typeof options !== 'object') throw new TypeError(`decodeMessage: options: expected an object, got ${describe(options)}`);
  const maxLength = options.maxLength ?? 65535;
  if (typeof maxLength !== 'number' || !Number.isInteger(maxLength) || maxLength < 2) {
    throw new RangeError(`decodeMessage: maxLength: expected an integer ≥ 2, got ${String(maxLength)}`);
  }
  return decodeAt(bytes, maxLength, false, options.aliasPayload === true);
}

/**
 * Encodes one MQTT-SN message; uses the 3-byte Length form (0x01 + u16) when the message is
 * longer than 255 bytes (MQTT-SN 1.2 §5.2.1).
 *
 * @returns a new Uint8Array holding the whole message. Under Node a PUBLISH or PUBACK is written into
 *   Node's Buffer pool, so its `.buffer` may be shared with other small allocations: copy it
 *   (`.slice()`) before transferring that ArrayBuffer to a worker.
 * @throws TypeError for wrong field types; RangeError for out-of-range values or a message
 *   over 65535 bytes.
 *
 * @example
 * ```ts
 * import { encodeMessage } from '@outpost/device-sdk/mqtt-sn';
 * encodeMessage({ type: 'PINGRESP' }); // Uint8Array [0x02, 0x17]
 * encodeMessage({ type: 'PUBREL', msgId: 258 }); // Uint8Array [0x04, 0x10, 0x01, 0x02]
 * ```
 */
export function encodeMessage(message: MqttSnMessage): Uint8Array {
  if (message === null || typeof message !== 'object') throw new TypeError(`encodeMessage: message: expected an object, got ${describe(message)}`);
  const m = message as MqttSnMessage;
  if (m.type === 'PUBLISH') return encodePublish(m);
  if (m.type === 'PUBACK') return encodePuback(m);
  if (m.type === 'ENCAPSULATED') {
    const radius = int(m.radius, 'radius', 3);
    const node = bytesOf(m.wirelessNodeId, 'wirelessNodeId');
    if ((m.message as { type?: unknown } | null)?.type === 'ENCAPSULATED') throw new RangeError('encodeMessage: message: encapsulation cannot be nested');
    const inner = encodeMessage(m.message);
    const hl = 3 + node.length;
    if (hl > 255) throw new RangeError(`encodeMessage: wirelessNodeId: at most 252 bytes, got ${node.length}`);
    const out = new Uint8Array(hl + inner.length);
    out[0] = hl;
    out[1] = MsgType.ENCAPSULATED;
    out[2] = radius;
    out.set(node, 3);
    out.set(inner, hl);
    return out;
  }
  const typeCode = (MsgType as Record<string, number | undefined>)[String((m as { type?: unknown }).type)];
  if (typeCode === undefined) throw new TypeError(`encodeMessage: type: expected an MQTT-SN message type, got ${JSON.stringify((m as { type?: unknown }).type)}`);
  return encodeOther(m, typeCode);
}
