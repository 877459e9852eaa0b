import { describe, expect, test } from 'vitest';
import { pingExchangeBytes, type TransportProfile } from '@outpost/device-sdk';

// Vectors: bytes per PINGREQ/PINGRESP exchange, computed by hand field by field.
//   MQTT: PINGREQ C0 00 + PINGRESP D0 00 = 4 (MQTT 3.1.1 §3.12, §3.13)
//   TLS record per packet: 1.3 = 5 hdr + 1 type + 16 tag = 22 (RFC 8446 §5.2);
//     1.2 AES-GCM = 5 hdr + 8 nonce + 16 tag = 29 (RFC 5288 §3); 1.2 ChaCha = 5 + 16 = 21 (RFC 7905)
//   TCP/IP per segment: IPv4 20 / IPv6 40, TCP 20, timestamps +12 (RFC 7323 §3)
const VECTORS: readonly {
  transport: TransportProfile; pureAcks: 0 | 1 | 2;
  mqtt: number; tlsRecord: number; tcpIpHeaders: number; acks: number; total: number;
}[] = [
  // 4 + 2×22 + 2×52 + 1×52
  { transport: { tlsVersion: '1.3', ipVersion: 4, tcpTimestamps: true }, pureAcks: 1, mqtt: 4, tlsRecord: 44, tcpIpHeaders: 104, acks: 52, total: 204 },
  // REFERENCES.md's "about 218 B": TLS 1.2 AES-GCM, IPv4 + timestamps, one ACK: 4 + 58 + 104 + 52
  { transport: { tlsVersion: '1.2', ipVersion: 4, tcpTimestamps: true }, pureAcks: 1, mqtt: 4, tlsRecord: 58, tcpIpHeaders: 104, acks: 52, total: 218 },
  // 2×(24 + 52) + 2×52 = 256: the two-ACK count
  { transport: { tlsVersion: '1.3', ipVersion: 4, tcpTimestamps: true }, pureAcks: 2, mqtt: 4, tlsRecord: 44, tcpIpHeaders: 104, acks: 104, total: 256 },
  { transport: { tlsVersion: '1.3', ipVersion: 4, tcpTimestamps: false }, pureAcks: 1, mqtt: 4, tlsRecord: 44, tcpIpHeaders: 80, acks: 40, total: 168 },
  { transport: { tlsVersion: '1.2', ipVersion: 4, tcpTimestamps: false }, pureAcks: 1, mqtt: 4, tlsRecord: 58, tcpIpHeaders: 80, acks: 40, total: 182 },
  { transport: { tlsVersion: '1.2', ipVersion: 4, tcpTimestamps: false, tls12Aead: 'chacha20-poly1305' }, pureAcks: 1, mqtt: 4, tlsRecord: 42, tcpIpHeaders: 80, acks: 40, total: 166 },
  { transport: { tlsVersion: '1.3', ipVersion: 6, tcpTimestamps: true }, pureAcks: 1, mqtt: 4, tlsRecord: 44, tcpIpHeaders: 144, acks: 72, total: 264 },
  { transport: { tlsVersion: '1.2', ipVersion: 6, tcpTimestamps: false }, pureAcks: 0, mqtt: 4, tlsRecord: 58, tcpIpHeaders: 120, acks: 0, total: 182 },
  // tls12Aead is ignored under TLS 1.3: no explicit nonce in any 1.3 suite
  { transport: { tlsVersion: '1.3', ipVersion: 4, tcpTimestamps: true, tls12Aead: 'chacha20-poly1305' }, pureAcks: 1, mqtt: 4, tlsRecord: 44, tcpIpHeaders: 104, acks: 52, total: 204 },
];

describe('pingExchangeBytes vectors', () => {
  test.each(VECTORS)('$transport.tlsVersion IPv$transport.ipVersion ts=$transport.tcpTimestamps acks=$pureAcks → $total B', (v) => {
    const b = pingExchangeBytes(v.transport, { pureAcks: v.pureAcks });
    expect(b).toEqual({ mqtt: v.mqtt, tlsRecord: v.tlsRecord, tcpIpHeaders: v.tcpIpHeaders, acks: v.acks, total: v.total, segments: 2 + v.pureAcks });
  });

  test('default is one pure ACK', () => {
    expect(pingExchangeBytes({ tlsVersion: '1.3', ipVersion: 4, tcpTimestamps: true }).segments).toBe(3);
  });
});

// Measured by bench/keepalive-bytes.ts (MQTT.js 5.16 → Mosquitto 2.0.11, Node 20.20 /
// OpenSSL 3.0.19, loopback): TLS bytes of one PINGREQ record and one PINGRESP record, and the
// segments `ss -tin` counted (2 data + 1 pure ACK, identical after 50 ms and 1.5 s idle).
const MEASURED = [
  { label: 'TLS 1.3 TLS_AES_256_GCM_SHA384', transport: { tlsVersion: '1.3', ipVersion: 4, tcpTimestamps: false }, up: 24, down: 24, segments: 3 },
  { label: 'TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256', transport: { tlsVersion: '1.2', ipVersion: 4, tcpTimestamps: false }, up: 31, down: 31, segments: 3 },
  { label: 'TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305', transport: { tlsVersion: '1.2', tls12Aead: 'chacha20-poly1305', ipVersion: 4, tcpTimestamps: false }, up: 23, down: 23, segments: 3 },
] as const satisfies readonly { label: string; transport: TransportProfile; up: number; down: number; segments: number }[];

describe('model agrees with the measurement', () => {
  test.each(MEASURED)('$label: TLS bytes $up + $down, $segments segments', (m) => {
    const b = pingExchangeBytes(m.transport);
    expect(b.mqtt + b.tlsRecord).toBe(m.up + m.down);
    expect(b.segments).toBe(m.segments);
  });
});

describe('pingExchangeBytes wrong-type matrix', () => {
  const ok: TransportProfile = { tlsVersion: '1.3', ipVersion: 4, tcpTimestamps: true };
  const cases: readonly [string, unknown, unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    ['transport null', null, undefined, TypeError, /transport: expected an object, got null/],
    ['transport string', 'tls', undefined, TypeError, /transport/],
    ['tlsVersion number', { ...ok, tlsVersion: 1.3 }, undefined, TypeError, /tlsVersion: expected '1.2' or '1.3', got number 1.3/],
    ['tlsVersion 1.1', { ...ok, tlsVersion: '1.1' }, undefined, RangeError, /tlsVersion.*'1.1'/],
    ['ipVersion string', { ...ok, ipVersion: '4' }, undefined, TypeError, /ipVersion/],
    ['ipVersion 5', { ...ok, ipVersion: 5 }, undefined, RangeError, /ipVersion: expected 4 or 6, got 5/],
    ['tcpTimestamps string', { ...ok, tcpTimestamps: 'yes' }, undefined, TypeError, /tcpTimestamps/],
    ['tls12Aead number', { ...ok, tls12Aead: 1 }, undefined, TypeError, /tls12Aead/],
    ['tls12Aead rc4', { ...ok, tls12Aead: 'rc4' }, undefined, RangeError, /tls12Aead/],
    ['unknown field', { ...ok, mtu: 1500 }, undefined, TypeError, /unknown field "mtu"/],
    ['options null', ok, null, TypeError, /options/],
    ['pureAcks string', ok, { pureAcks: '1' }, TypeError, /pureAcks/],
    ['pureAcks 3', ok, { pureAcks: 3 }, RangeError, /pureAcks: expected 0, 1 or 2, got 3/],
  ];
  test.each(cases)('%s', (_name, transport, options, ErrorClass, message) => {
    const call = (): unknown => (pingExchangeBytes as (t: unknown, o?: unknown) => unknown)(transport, options);
    expect(call).toThrow(ErrorClass);
    expect(call).toThrow(message);
  });
});
