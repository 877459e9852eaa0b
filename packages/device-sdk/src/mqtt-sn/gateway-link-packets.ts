// The packets the gateway's broker link (gateway-link.ts) writes on its hot path, encoded by
// hand into one Buffer each (MQTT 3.1.1 and 5). Internal.

export const PINGREQ = Buffer.from([0xc0, 0x00]);
export const DISCONNECT = Buffer.from([0xe0, 0x00]);

/** A 4-byte acknowledgement: `type` PUBACK 0x40, PUBREC 0x50, PUBREL 0x62, PUBCOMP 0x70 (MQTT 3.1.1 §3.4–§3.7; MQTT 5 reason Success, no properties). */
export function ackPacket(type: number, id: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b[0] = type;
  b[1] = 2;
  b[2] = id >> 8;
  b[3] = id & 0xff;
  return b;
}

/**
 * MQTT 3.1.1 §3.3 / MQTT 5 §3.3 PUBLISH in one buffer (`id` ignored at QoS 0; no MQTT 5 properties).
 * @throws RangeError when the topic or the packet exceeds MQTT's limits.
 */
export function publishPacket(topic: Buffer, payload: Uint8Array, qos: 0 | 1 | 2, retain: boolean, id: number, version: 4 | 5): Buffer {
  const rem = 2 + topic.length + (qos > 0 ? 2 : 0) + (version === 5 ? 1 : 0) + payload.length;
  if (topic.length > 0xffff || rem > 268_435_455) throw new RangeError(`broker link: PUBLISH of ${rem} bytes on a ${topic.length}-byte topic exceeds MQTT's limits`);
  const out = Buffer.allocUnsafe(1 + (rem < 0x80 ? 1 : rem < 0x4000 ? 2 : rem < 0x200000 ? 3 : 4) + rem);
  out[0] = 0x30 | (qos << 1) | (retain ? 1 : 0);
  let o = 1;
  let x = rem;
  do {
    // §2.2.3 Remaining Length: 7 bits per byte, least significant first
    const d = x % 128;
    x = Math.floor(x / 128);
    out[o++] = x > 0 ? d | 0x80 : d;
  } while (x > 0);
  out[o++] = topic.length >> 8;
  out[o++] = topic.length & 0xff;
  topic.copy(out, o);
  o += topic.length;
  if (qos > 0) {
    out[o++] = id >> 8;
    out[o++] = id & 0xff;
  }
  if (version === 5) out[o++] = 0; // §3.3.2.3 no properties
  out.set(payload, o);
  return out;
}
