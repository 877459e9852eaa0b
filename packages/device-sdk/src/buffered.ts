// Store-and-forward publishing: QoS 1/2 publishes are appended to an @outpost/edge-buffer
// (acknowledged to the app once durable) and a drain loop sends them in FIFO order, removing
// each from the buffer only after the broker's PUBACK/PUBCOMP.
import type { EdgeBuffer } from '@outpost/edge-buffer';
import { DeviceError } from './errors.js';

/** A buffered message as stored: version, flags, topic length, topic, payload. */
export interface BufferedMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: 1 | 2;
  readonly retain: boolean;
}

const RECORD_VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Record layout (big-endian): u8 version (1) | u8 flags (bit 0-1 QoS, bit 2 retain) |
 * u16 topic length | topic (UTF-8) | payload.
 */
export function encodeBufferedMessage(m: BufferedMessage): Uint8Array {
  const topic = encoder.encode(m.topic);
  const out = new Uint8Array(4 + topic.length + m.payload.length);
  out[0] = RECORD_VERSION;
  out[1] = m.qos | (m.retain ? 0x04 : 0);
  new DataView(out.buffer).setUint16(2, topic.length, false);
  out.set(topic, 4);
  out.set(m.payload, 4 + topic.length);
  return out;
}

/** Decodes a record written by {@link encodeBufferedMessage}; `MALFORMED_RECORD` otherwise. */
export function decodeBufferedMessage(bytes: Uint8Array): BufferedMessage {
  if (bytes.length < 4) throw new DeviceError('MALFORMED_RECORD', `buffered message: expected at least 4 bytes, got ${bytes.length}`);
  if (bytes[0] !== RECORD_VERSION) throw new DeviceError('MALFORMED_RECORD', `buffered message: unknown version ${String(bytes[0])} at offset 0`);
  const flags = bytes[1] as number;
  const qos = flags & 0x03;
  if ((qos !== 1 && qos !== 2) || (flags & ~0x07) !== 0) throw new DeviceError('MALFORMED_RECORD', `buffered message: bad flags 0x${flags.toString(16)} at offset 1`);
  const topicLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(2, false);
  if (4 + topicLength > bytes.length || topicLength === 0) throw new DeviceError('MALFORMED_RECORD', `buffered message: topic length ${topicLength} at offset 2 exceeds the record`);
  let topic: string;
  try {
    topic = decoder.decode(bytes.subarray(4, 4 + topicLength));
  } catch {
    throw new DeviceError('MALFORMED_RECORD', 'buffered message: topic is not UTF-8 at offset 4');
  }
  return { topic, payload: bytes.subarray(4 + topicLength), qos, retain: (flags & 0x04) !== 0 };
}

/** Whether a buffer looks like an @outpost/edge-buffer (duck-typed: no runtime import). */
export function isEdgeBuffer(v: unknown): v is EdgeBuffer {
  const b = v as Partial<EdgeBuffer> | null;
  return typeof b === 'object' && b !== null && typeof b.append === 'function' && typeof b.drain === 'function' && typeof b.stats === 'function';
}

/** Refusals a retry cannot fix: sending again would block the queue behind them forever. */
export function isPermanentRefusal(err: unknown): boolean {
  if (!(err instanceof DeviceError)) return false;
  if (err.code === 'NOT_AUTHORIZED' || err.code === 'INVALID_TOPIC') return true;
  // MQTT 5 PUBACK codes for a message the broker will never take as it is.
  return err.code === 'PUBLISH_FAILED' && err.reasonCode !== undefined && [0x90, 0x95, 0x99, 0x9a, 0x9b].includes(err.reasonCode);
}
