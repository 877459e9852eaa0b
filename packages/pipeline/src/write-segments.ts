// The consumer session's outgoing bytes of one turn of the event loop (mqtt-session.ts): the
// encoded packets and the PUBACKs released in that turn, put together into one socket write.
// Internal.
/**
 * What a turn's writes are made of: encoded packets, and runs of PUBACK packet ids (written as
 * `[0x40, 0x02, id]` when the turn's bytes are put together: a PUBACK with reason Success and no
 * properties, valid in 3.1.1 and 5, [MQTT-3.4.2.1]) — no 4-byte Buffer per acknowledgement.
 */
export type Segment = Buffer | number[];

/** The segments of a turn as one buffer, in order. */
export function joinSegments(segments: readonly Segment[]): Buffer {
  let length = 0;
  for (const s of segments) length += Array.isArray(s) ? 4 * s.length : s.length;
  const out = Buffer.allocUnsafe(length);
  let o = 0;
  for (const s of segments) {
    if (!Array.isArray(s)) {
      o += s.copy(out, o);
      continue;
    }
    for (const id of s) {
      out[o++] = 0x40;
      out[o++] = 0x02;
      out[o++] = id >> 8;
      out[o++] = id & 0xff;
    }
  }
  return out;
}
