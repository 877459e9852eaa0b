/**
 * Byte model of one MQTT keep-alive exchange (PINGREQ → PINGRESP) on the wire: MQTT bytes, TLS
 * record overhead, TCP/IP headers and pure ACK segments. Pure arithmetic; no sockets.
 *
 * Checked against a measurement with MQTT.js 5.16 and Mosquitto 2.0.11 on Linux
 * (`bench/keepalive-bytes.ts`).
 */
import { describe } from './describe.js';

/** TLS protocol version of the device connection. */
export type TlsVersion = '1.2' | '1.3';

/**
 * AEAD cipher family under TLS 1.2 (it decides the explicit nonce). TLS 1.3 has no explicit
 * nonce for any cipher suite, so the field is ignored there.
 */
export type Tls12Aead = 'aes-gcm' | 'chacha20-poly1305';

/** What the transport below MQTT looks like; it sets the per-packet overhead. */
export interface TransportProfile {
  /** TLS version. */
  readonly tlsVersion: TlsVersion;
  /** IP version: 4 (20-byte header) or 6 (40-byte header). */
  readonly ipVersion: 4 | 6;
  /** Whether TCP timestamps (RFC 7323 §3, 12 bytes of options with padding) are on. Linux: on by default. */
  readonly tcpTimestamps: boolean;
  /** TLS 1.2 AEAD family. Default `'aes-gcm'` (also right for AES-CCM: same 8-byte explicit nonce). */
  readonly tls12Aead?: Tls12Aead;
}

/** Bytes of one PINGREQ/PINGRESP exchange, broken down by layer. All figures are per exchange. */
export interface PingBytes {
  /** MQTT bytes: PINGREQ `C0 00` + PINGRESP `D0 00` = 4. */
  readonly mqtt: number;
  /** TLS record overhead of the two records (header, content type, explicit nonce, AEAD tag). */
  readonly tlsRecord: number;
  /** TCP/IP headers of the two data segments. */
  readonly tcpIpHeaders: number;
  /** Pure ACK segments (headers only, no payload). */
  readonly acks: number;
  /** Sum of the above: the bytes an IP-level meter (and a carrier) sees. */
  readonly total: number;
  /** TCP segments in the exchange: 2 data segments + pure ACKs. */
  readonly segments: number;
}

/** Options of {@link pingExchangeBytes}. */
export interface PingBytesOptions {
  /**
   * Pure ACK segments per exchange. Default 1, as measured against Mosquitto 2.0.11 on Linux
   * (`bench/keepalive-bytes.ts`, after both 50 ms and 1.5 s of idle): the broker's ACK of the
   * PINGREQ rides on its PINGRESP and the device sends one delayed ACK for the PINGRESP. Use 2
   * when the broker's delayed-ACK timer (40–200 ms on Linux, RFC 9293 §3.8.6.3 allows up to
   * 500 ms) can fire before its PINGRESP leaves, e.g. a loaded broker or a proxy in between;
   * 0 is an exchange whose last ACK rides on later data.
   */
  readonly pureAcks?: 0 | 1 | 2;
}

// MQTT 3.1.1 §3.12 / MQTT 5 §3.12: PINGREQ fixed header 0xC0, Remaining Length 0.
const PINGREQ_BYTES = 2;
// MQTT 3.1.1 §3.13 / MQTT 5 §3.13: PINGRESP fixed header 0xD0, Remaining Length 0.
const PINGRESP_BYTES = 2;

// RFC 8446 §5.1, §5.2: 5-byte record header; TLSInnerPlaintext adds 1 content-type byte;
// every TLS 1.3 suite's AEAD tag is 16 bytes (AES-GCM, ChaCha20-Poly1305, AES-CCM; not CCM_8).
const TLS13_RECORD_OVERHEAD = 5 + 1 + 16;
// RFC 5246 §6.2.3.3 with RFC 5288 §3: AES-GCM sends an 8-byte explicit nonce, 16-byte tag.
const TLS12_GCM_RECORD_OVERHEAD = 5 + 8 + 16;
// RFC 7905 §2: ChaCha20-Poly1305 in TLS 1.2 has no explicit nonce, 16-byte tag.
const TLS12_CHACHA_RECORD_OVERHEAD = 5 + 16;

// RFC 791 (20 B), RFC 8200 §3 (40 B), RFC 9293 §3.1 (20 B), RFC 7323 §3 timestamps:
// 10 bytes of option + 2 NOPs = 12.
const IPV4_HEADER = 20;
const IPV6_HEADER = 40;
const TCP_HEADER = 20;
const TCP_TIMESTAMPS = 12;

/**
 * TLS record overhead in bytes for one record under the given transport.
 *
 * @internal not exported from the package; tests reach it through {@link pingExchangeBytes}.
 */
export function tlsRecordOverhead(transport: TransportProfile): number {
  if (transport.tlsVersion === '1.3') return TLS13_RECORD_OVERHEAD;
  return transport.tls12Aead === 'chacha20-poly1305' ? TLS12_CHACHA_RECORD_OVERHEAD : TLS12_GCM_RECORD_OVERHEAD;
}

/**
 * TCP/IP header bytes of one segment under the given transport.
 *
 * @internal
 */
export function tcpIpHeaderBytes(transport: TransportProfile): number {
  return (transport.ipVersion === 6 ? IPV6_HEADER : IPV4_HEADER) + TCP_HEADER + (transport.tcpTimestamps ? TCP_TIMESTAMPS : 0);
}

/** Throws TypeError/RangeError for a malformed transport profile; `where` prefixes messages. */
export function assertTransport(value: unknown, where: string): asserts value is TransportProfile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${where}: expected an object, got ${describe(value)}`);
  }
  const t = value as Record<string, unknown>;
  for (const key of Object.keys(t)) {
    if (!['tlsVersion', 'ipVersion', 'tcpTimestamps', 'tls12Aead'].includes(key)) {
      throw new TypeError(`${where}: unknown field "${key}"`);
    }
  }
  if (typeof t['tlsVersion'] !== 'string') throw new TypeError(`${where}.tlsVersion: expected '1.2' or '1.3', got ${describe(t['tlsVersion'])}`);
  if (t['tlsVersion'] !== '1.2' && t['tlsVersion'] !== '1.3') throw new RangeError(`${where}.tlsVersion: expected '1.2' or '1.3', got '${t['tlsVersion']}'`);
  if (typeof t['ipVersion'] !== 'number') throw new TypeError(`${where}.ipVersion: expected 4 or 6, got ${describe(t['ipVersion'])}`);
  if (t['ipVersion'] !== 4 && t['ipVersion'] !== 6) throw new RangeError(`${where}.ipVersion: expected 4 or 6, got ${t['ipVersion']}`);
  if (typeof t['tcpTimestamps'] !== 'boolean') throw new TypeError(`${where}.tcpTimestamps: expected a boolean, got ${describe(t['tcpTimestamps'])}`);
  const aead = t['tls12Aead'];
  if (aead !== undefined) {
    if (typeof aead !== 'string') throw new TypeError(`${where}.tls12Aead: expected 'aes-gcm' or 'chacha20-poly1305', got ${describe(aead)}`);
    if (aead !== 'aes-gcm' && aead !== 'chacha20-poly1305') throw new RangeError(`${where}.tls12Aead: expected 'aes-gcm' or 'chacha20-poly1305', got '${aead}'`);
  }
}

/**
 * Bytes on the wire of one MQTT keep-alive exchange: PINGREQ and PINGRESP, each in its own TLS
 * record and TCP segment, plus pure ACKs.
 *
 * @param transport - TLS version (and TLS 1.2 AEAD), IP version, TCP timestamps.
 * @param options - `pureAcks` (default 1; see {@link PingBytesOptions}).
 * @returns the breakdown and total; `mqtt + tlsRecord` is what a TLS-level byte counter sees.
 * @throws TypeError / RangeError for a malformed transport or `pureAcks`.
 *
 * @example
 * ```ts
 * import { pingExchangeBytes } from '@outpost/device-sdk';
 * const b = pingExchangeBytes({ tlsVersion: '1.2', ipVersion: 4, tcpTimestamps: true });
 * b.mqtt + b.tlsRecord; // 62: two 31-byte TLS 1.2 AES-GCM records
 * b.total;              // 218: 2 × (31 + 52) + one 52-byte ACK
 * ```
 */
export function pingExchangeBytes(transport: TransportProfile, options: PingBytesOptions = {}): PingBytes {
  assertTransport(transport, 'pingExchangeBytes: transport');
  if (typeof options !== 'object' || options === null) throw new TypeError(`pingExchangeBytes: options: expected an object, got ${describe(options)}`);
  const pureAcks: unknown = options.pureAcks === undefined ? 1 : options.pureAcks;
  if (typeof pureAcks !== 'number') throw new TypeError(`pingExchangeBytes: pureAcks: expected 0, 1 or 2, got ${describe(pureAcks)}`);
  if (pureAcks !== 0 && pureAcks !== 1 && pureAcks !== 2) throw new RangeError(`pingExchangeBytes: pureAcks: expected 0, 1 or 2, got ${pureAcks}`);
  const header = tcpIpHeaderBytes(transport);
  const mqtt = PINGREQ_BYTES + PINGRESP_BYTES;
  const tlsRecord = 2 * tlsRecordOverhead(transport);
  const tcpIpHeaders = 2 * header;
  const acks = pureAcks * header;
  return { mqtt, tlsRecord, tcpIpHeaders, acks, total: mqtt + tlsRecord + tcpIpHeaders + acks, segments: 2 + pureAcks };
}
