/**
 * The consumer session's inbound decoder. PUBLISH, nearly every packet a consumer reads, is
 * parsed here straight from the socket's chunks: fixed header, topic, packet identifier and a
 * payload that is a view of the chunk (no copy). mqtt-packet's parser (MQTT.js's codec) ran a
 * `debug` call per state and sliced a `bl` buffer list per field, about 10 % of the end-to-end
 * consumer's CPU. Every other packet (CONNACK, SUBACK, PUBACK, PINGRESP, …) and a PUBLISH that
 * carries MQTT 5 properties go, as whole packets, to mqtt-packet's parser, so the rarer cases
 * keep the codec MQTT.js uses. A packet split across chunks waits in a carry-over list until its
 * last byte arrives. Internal.
 */
import mqttPacket, { type IPublishPacket, type Packet, type Parser } from 'mqtt-packet';
import { PipelineError } from './errors.js';

/** The largest Remaining Length a four-byte Variable Byte Integer holds (MQTT 5 §1.5.5, 3.1.1 §2.2.3). */
export const MAX_REMAINING_LENGTH = 268_435_455;

const PUBLISH = 3;

function malformed(what: string): PipelineError {
  return new PipelineError('INGEST_FAILED', `malformed packet from the broker: ${what}`);
}

/** Decodes the packets of one connection; see the file comment. */
export class PacketReader {
  /** Bytes of an incomplete packet (views of earlier chunks). */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** Size of the carried packet, or 0 while its fixed header is incomplete. */
  private need = 0;
  private failed: Error | undefined;
  private fallbackError: Error | undefined;
  private readonly fallback: Parser;

  constructor(
    private readonly version: 4 | 5,
    private readonly onPacket: (packet: Packet) => void,
    /** Largest Remaining Length accepted (default {@link MAX_REMAINING_LENGTH}); a larger one is an error. */
    private readonly maxRemainingLength = MAX_REMAINING_LENGTH,
  ) {
    this.fallback = mqttPacket.parser({ protocolVersion: version });
    this.fallback.on('packet', onPacket);
    this.fallback.on('error', (e: Error) => {
      this.fallbackError = e;
    });
  }

  /**
   * Decodes what `chunk` completes, in order; carries an incomplete tail to the next call.
   * @throws PipelineError `INGEST_FAILED` (or mqtt-packet's `Error`) for a malformed packet;
   * every later call throws the same error (the connection must be closed).
   */
  push(chunk: Buffer): void {
    if (this.failed !== undefined) throw this.failed;
    let buf = chunk;
    if (this.carryBytes > 0) {
      this.carry.push(chunk);
      this.carryBytes += chunk.length;
      if (this.need > 0 && this.carryBytes < this.need) return;
      buf = Buffer.concat(this.carry, this.carryBytes);
      this.carry = [];
      this.carryBytes = 0;
    }
    try {
      let pos = 0;
      while (pos < buf.length) {
        const n = this.packetAt(buf, pos);
        if (n <= 0 || pos + n > buf.length) {
          this.carry.push(buf.subarray(pos));
          this.carryBytes = buf.length - pos;
          this.need = n > 0 ? n : 0;
          return;
        }
        pos += n;
      }
    } catch (e) {
      this.failed = e as Error;
      throw e;
    }
  }

  /**
   * Returns the size of the packet at `pos` (0 while its fixed header is incomplete) and decodes
   * it if it is complete (`pos + size <= buf.length`).
   */
  private packetAt(buf: Buffer, pos: number): number {
    // MQTT 5 §2.1.4 / 3.1.1 §2.2.3: Remaining Length, a Variable Byte Integer of at most 4 bytes.
    let remaining = 0;
    let mul = 1;
    let i = pos + 1;
    for (;;) {
      if (i >= buf.length) return 0;
      const b = buf[i++] as number;
      remaining += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) break;
      if (i - pos > 4) throw malformed('Remaining Length longer than 4 bytes');
      mul *= 128;
    }
    if (remaining > this.maxRemainingLength) throw malformed(`Remaining Length ${remaining} exceeds ${this.maxRemainingLength}`);
    const end = i + remaining;
    if (end > buf.length) return end - pos;
    const first = buf[pos] as number;
    if (first >> 4 !== PUBLISH || !this.publish(buf, first, i, end, remaining)) {
      this.fallback.parse(buf.subarray(pos, end));
      if (this.fallbackError !== undefined) throw this.fallbackError;
    }
    return end - pos;
  }

  /** MQTT 5 §3.3 / 3.1.1 §3.3: a PUBLISH without properties; false leaves it to mqtt-packet. */
  private publish(buf: Buffer, first: number, start: number, end: number, length: number): boolean {
    const qos = (first >> 1) & 3;
    if (qos === 3) throw malformed('PUBLISH with both QoS bits set [MQTT-3.3.1-4]');
    let p = start;
    if (p + 2 > end) throw malformed('PUBLISH without a topic');
    const topicEnd = p + 2 + (((buf[p] as number) << 8) | (buf[p + 1] as number));
    if (topicEnd > end) throw malformed('PUBLISH topic longer than the packet');
    p = topicEnd;
    let messageId: number | undefined;
    if (qos > 0) {
      if (p + 2 > end) throw malformed('PUBLISH without a packet identifier');
      messageId = ((buf[p] as number) << 8) | (buf[p + 1] as number);
      p += 2;
    }
    if (this.version === 5) {
      // MQTT 5 §3.3.2.3: Property Length; anything but 0 goes to mqtt-packet.
      if (p >= end) throw malformed('PUBLISH without a Property Length');
      if (buf[p] !== 0) return false;
      p += 1;
    }
    const retain = (first & 1) !== 0;
    const dup = (first & 8) !== 0;
    const topic = buf.toString('utf8', start + 2, topicEnd);
    const payload = buf.subarray(p, end);
    this.onPacket(
      (messageId === undefined
        ? { cmd: 'publish', retain, qos, dup, length, topic, payload }
        : { cmd: 'publish', retain, qos, dup, length, topic, payload, messageId }) as IPublishPacket,
    );
    return true;
  }
}
