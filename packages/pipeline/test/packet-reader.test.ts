// The consumer's inbound decoder (packet-reader.ts) against mqtt-packet, the codec it replaces
// for PUBLISH: seeded streams of generated packets (PUBLISH at QoS 0/1/2 with and without MQTT 5
// properties, empty and 20 KB payloads, non-ASCII topics, and the other packets a consumer reads)
// decoded with the same result split at every byte, in random chunks and byte by byte; garbage
// and damaged streams fail with an error (the same one however they are chunked) and never with
// something else; oversized Remaining Lengths fail on the header alone.
import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@outpost/test-peers';
import { PipelineError } from '../src/errors.js';
import { PacketReader } from '../src/packet-reader.js';

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const TOPICS = ['devices/meter-1/telemetry', 'devices/ü-Δ-设备/telemetry', 'a', 'devices/x/' + 'y'.repeat(300)];

function publish(r: Rand, v: 4 | 5, small: boolean): Packet {
  const qos = int(r, 3) as 0 | 1 | 2;
  const size = [0, 1, 60, 127, 128, 20_000][int(r, small ? 5 : 6)] as number;
  const payload = Buffer.from(Array.from({ length: size }, () => int(r, 256)));
  const props = v === 5 && r() < 0.4
    ? { properties: { contentType: 'application/json', payloadFormatIndicator: true, messageExpiryInterval: int(r, 1000), userProperties: { k: ['a', 'b'], z: 'ü' } } }
    : {};
  return { cmd: 'publish', topic: TOPICS[int(r, TOPICS.length)] as string, payload, qos, retain: r() < 0.2, dup: r() < 0.2, ...(qos > 0 ? { messageId: 1 + int(r, 65_535) } : {}), ...props } as Packet;
}

function other(r: Rand, v: 4 | 5): Packet {
  const id = 1 + int(r, 65_535);
  const all: Packet[] = [
    { cmd: 'connack', sessionPresent: r() < 0.5, ...(v === 5 ? { reasonCode: 0, properties: { receiveMaximum: 100 } } : { returnCode: 0 }) } as Packet,
    { cmd: 'suback', messageId: id, granted: [1, 0, 128] } as Packet,
    { cmd: 'unsuback', messageId: id, ...(v === 5 ? { granted: [0] } : {}) } as Packet,
    { cmd: 'puback', messageId: id } as Packet,
    { cmd: 'pubrec', messageId: id } as Packet,
    { cmd: 'pubcomp', messageId: id } as Packet,
    { cmd: 'pingresp' } as Packet,
  ];
  return all[int(r, all.length)] as Packet;
}

function stream(seed: number, v: 4 | 5, n: number, small = false): Buffer {
  const r = mulberry32(seed);
  return Buffer.concat(Array.from({ length: n }, () => mqttPacket.generate(r() < 0.75 ? publish(r, v, small) : other(r, v), { protocolVersion: v })));
}

/** The packet's own fields, null/undefined left out, Buffers as hex: mqtt-packet's Packet and a plain object compare equal. */
function plain(p: Packet): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(p)) {
    if (val === null || val === undefined) continue;
    out[k] = Buffer.isBuffer(val) ? val.toString('hex') : val;
  }
  return out;
}

/** Decodes `chunks` with a fresh reader: the packets, and the error that stopped it, if any. */
function read(chunks: readonly Buffer[], v: 4 | 5, maxRemainingLength?: number): { packets: Packet[]; error: Error | undefined } {
  const packets: Packet[] = [];
  const reader = new PacketReader(v, (p) => packets.push(p), maxRemainingLength);
  for (const c of chunks) {
    try {
      reader.push(c);
    } catch (e) {
      expect(e).toBeInstanceOf(Error);
      expect(() => reader.push(Buffer.from([0xd0, 0]))).toThrow(e as Error); // failed for good
      return { packets, error: e as Error };
    }
  }
  return { packets, error: undefined };
}

function reference(buf: Buffer, v: 4 | 5): Packet[] {
  const out: Packet[] = [];
  const parser = mqttPacket.parser({ protocolVersion: v });
  parser.on('packet', (p: Packet) => out.push(p));
  parser.on('error', (e: Error) => {
    throw e;
  });
  parser.parse(buf);
  return out;
}

function randomChunks(buf: Buffer, r: Rand, max: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length;) {
    const n = 1 + int(r, max);
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

describe('the consumer session\'s PUBLISH decoder', () => {
  for (const v of [4, 5] as const) {
    it(`decodes generated MQTT ${v === 5 ? '5' : '3.1.1'} streams as mqtt-packet does, however they are chunked`, () => {
      for (let seed = 1; seed <= 20; seed++) {
        const buf = stream(seed, v, 40);
        const want = reference(buf, v).map(plain);
        expect(want.length).toBe(40);
        const r = mulberry32(seed * 7);
        for (const chunks of [[buf], randomChunks(buf, r, 64), randomChunks(buf, r, 4_000)]) {
          const got = read(chunks, v);
          expect(got.error).toBeUndefined();
          expect(got.packets.map(plain)).toEqual(want);
        }
      }
    });

    it(`MQTT ${v === 5 ? '5' : '3.1.1'}: split at every byte, and byte by byte`, () => {
      const buf = stream(100 + v, v, 12, true);
      const want = reference(buf, v).map(plain);
      for (let at = 0; at <= buf.length; at++) expect(read([buf.subarray(0, at), buf.subarray(at)], v).packets.map(plain)).toEqual(want);
      expect(read(randomChunks(buf, () => 0, 1), v).packets.map(plain)).toEqual(want);
    });
  }

  it('parses a PUBLISH without properties itself (plain object, payload a view of the chunk) and leaves one with properties to mqtt-packet', () => {
    const bare = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 7, retain: false, dup: false } as Packet, { protocolVersion: 5 });
    const withProps = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.from('y'), qos: 0, retain: false, dup: false, properties: { contentType: 'text/plain' } } as Packet, { protocolVersion: 5 });
    const chunk = Buffer.concat([bare, withProps]);
    const { packets } = read([chunk], 5);
    expect(Object.getPrototypeOf(packets[0])).toBe(Object.prototype);
    const payload = (packets[0] as { payload: Buffer }).payload;
    expect(payload.buffer).toBe(chunk.buffer);
    expect(Object.getPrototypeOf(packets[1])).not.toBe(Object.prototype);
    expect((packets[1] as { properties?: { contentType?: string } }).properties?.contentType).toBe('text/plain');
  });

  it('a Remaining Length of 5 bytes, or above the limit, fails on the header alone', () => {
    const five = read([Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])], 5);
    expect(five.error).toBeInstanceOf(PipelineError);
    expect((five.error as PipelineError).code).toBe('INGEST_FAILED');
    const big = read([Buffer.from([0x30, 0x81, 0x80, 0x01])], 5, 1_000); // 16,385 > 1,000
    expect((big.error as PipelineError).code).toBe('INGEST_FAILED');
    expect(read([Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f])], 5).error).toBeUndefined(); // 268,435,455: the largest, waits for its body
  });

  it('malformed PUBLISHes fail with a reason: QoS 3, no topic, topic past the end, no packet id, no Property Length', () => {
    const cases = [[0x36, 0x03, 0, 1, 0x61], [0x30, 0x01, 0], [0x30, 0x03, 0, 5, 0x61], [0x32, 0x03, 0, 1, 0x61], [0x30, 0x03, 0, 1, 0x61]];
    for (const c of cases) {
      const { error, packets } = read([Buffer.from(c)], 5);
      expect(packets).toEqual([]);
      expect((error as PipelineError).code).toBe('INGEST_FAILED');
    }
  });

  it('garbage and damaged streams: an Error, the same packets and the same error however they are chunked', () => {
    const r = mulberry32(42);
    let failures = 0;
    for (let i = 0; i < 300; i++) {
      const v = i % 2 === 0 ? 5 : 4;
      const buf = i % 3 === 0 ? Buffer.from(Array.from({ length: 1 + int(r, 200) }, () => int(r, 256))) : Buffer.from(stream(1_000 + i, v, 5));
      if (i % 3 !== 0) for (let k = 0; k < 3; k++) buf[int(r, buf.length)] = int(r, 256);
      const whole = read([buf], v);
      const chunked = read(randomChunks(buf, r, 16), v);
      expect(chunked.packets.map(plain)).toEqual(whole.packets.map(plain));
      expect(chunked.error?.message).toBe(whole.error?.message);
      for (const p of whole.packets) if (p.cmd === 'publish') expect(typeof p.topic).toBe('string');
      if (whole.error !== undefined) failures++;
    }
    expect(failures).toBeGreaterThan(50); // the garbage does reach the error paths
  });
});
