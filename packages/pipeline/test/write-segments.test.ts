// The consumer session puts a turn's packets and PUBACKs together into one write (session 7:
// PUBACKs as packet-id runs instead of a 4-byte Buffer each). The bytes must be exactly the
// packets in order, and every PUBACK one that mqtt-packet (MQTT.js's codec) parses back.
import { describe, expect, it } from 'vitest';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { joinSegments } from '../src/write-segments.js';

describe('joinSegments', () => {
  it('packets and PUBACK runs, in order, byte for byte; each PUBACK parses back with its id (3.1.1 and 5)', () => {
    const ids = [1, 255, 256, 0x1234, 65_535];
    const puback = (id: number): Buffer => Buffer.from([0x40, 0x02, id >> 8, id & 0xff]);
    for (const protocolVersion of [4, 5] as const) {
      const ping = mqttPacket.generate({ cmd: 'pingreq' } as Packet, { protocolVersion });
      const pub = mqttPacket.generate({ cmd: 'publish', topic: 'alerts/x', payload: Buffer.from('hot'), qos: 1, messageId: 7, retain: false, dup: false } as Packet, { protocolVersion });
      const bytes = joinSegments([ping, ids.slice(0, 2), pub, ids.slice(2)]);
      expect(bytes.equals(Buffer.concat([ping, puback(1), puback(255), pub, ...ids.slice(2).map(puback)]))).toBe(true);
      const parser = mqttPacket.parser({ protocolVersion });
      const got: string[] = [];
      parser.on('packet', (p: Packet) => got.push(`${p.cmd}${(p as { messageId?: number }).messageId ?? ''}`));
      parser.parse(bytes);
      expect(got).toEqual(['pingreq', 'puback1', 'puback255', 'publish7', 'puback256', 'puback4660', 'puback65535']);
    }
  });

  it('nothing gives an empty buffer', () => {
    expect(joinSegments([]).length).toBe(0);
    expect(joinSegments([[]]).length).toBe(0);
  });
});
