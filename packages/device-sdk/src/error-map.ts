import { DeviceError, type DeviceErrorCode } from './errors.js';

// Node/OpenSSL codes raised while *we* verify the broker's certificate.
const SERVER_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  // X509_V_ERR_INVALID_PURPOSE: a broker certificate without extKeyUsage serverAuth (RFC 5280 §4.2.1.12).
  'INVALID_PURPOSE',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  // Node's name for verify results it has no name for, e.g. X509_V_ERR_CA_MD_TOO_WEAK (a SHA-1 signed broker certificate).
  'UNSPECIFIED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

// TLS alerts the broker sends when it refuses *our* certificate (RFC 8446 §6.2).
const CLIENT_CERT_ALERTS: ReadonlyArray<[RegExp, DeviceErrorCode, string]> = [
  [/CERTIFICATE_REQUIRED|PEER_DID_NOT_RETURN_A_CERTIFICATE/i, 'CERT_REQUIRED', 'the broker requires a client certificate'],
  [/UNKNOWN_CA/i, 'CERT_UNTRUSTED', 'the broker does not trust the CA that issued this device certificate'],
  [/CERTIFICATE_EXPIRED/i, 'CERT_EXPIRED', 'the broker refused the device certificate as expired or not yet valid'],
  [/BAD_CERTIFICATE|UNSUPPORTED_CERTIFICATE|CERTIFICATE_UNKNOWN|DECRYPT_ERROR|HANDSHAKE_FAILURE|CERTIFICATE_REVOKED/i, 'TLS_HANDSHAKE_FAILED', 'the broker refused the TLS handshake'],
];

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** MQTT 3.1.1 §3.2.2.3 CONNACK return codes. */
const CONNACK_V4: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

/** MQTT 5 §2.4 reason codes used in CONNACK, PUBACK, SUBACK and UNSUBACK. */
const REASON_V5: Record<number, string> = {
  0x80: 'unspecified error',
  0x81: 'malformed packet',
  0x82: 'protocol error',
  0x83: 'implementation specific error',
  0x84: 'unsupported protocol version',
  0x85: 'client identifier not valid',
  0x86: 'bad user name or password',
  0x87: 'not authorized',
  0x88: 'server unavailable',
  0x89: 'server busy',
  0x8a: 'banned',
  0x8c: 'bad authentication method',
  0x8f: 'topic filter invalid',
  0x90: 'topic name invalid',
  0x91: 'packet identifier in use',
  0x97: 'quota exceeded',
  0x99: 'payload format invalid',
  0x9a: 'retain not supported',
  0x9b: 'QoS not supported',
  0x9c: 'use another server',
  0x9d: 'server moved',
  0x9e: 'shared subscriptions not supported',
  0x9f: 'connection rate exceeded',
  0xa1: 'subscription identifiers not supported',
  0xa2: 'wildcard subscriptions not supported',
};

/** Human text of an MQTT reason code for the given protocol version. */
export function reasonText(code: number, protocolVersion: 4 | 5): string {
  const t = protocolVersion === 5 ? REASON_V5[code] : CONNACK_V4[code];
  return `${t ?? 'unknown reason'} (0x${code.toString(16).padStart(2, '0')})`;
}

/** Whether a reason code means "not authorized" (3.1.1 CONNACK 4/5, SUBACK 0x80 is generic failure). */
function isAuthCode(code: number, protocolVersion: 4 | 5): boolean {
  return protocolVersion === 5 ? code === 0x86 || code === 0x87 || code === 0x8c : code === 4 || code === 5;
}

/** Maps a CONNACK refusal to a typed error. */
export function connackError(code: number, protocolVersion: 4 | 5): DeviceError {
  const text = reasonText(code, protocolVersion);
  return isAuthCode(code, protocolVersion)
    ? new DeviceError('NOT_AUTHORIZED', `broker refused the connection: ${text}`, { reasonCode: code })
    : new DeviceError('CONNECTION_REFUSED', `broker refused the connection: ${text}`, { reasonCode: code });
}

/** Maps a failed PUBACK/SUBACK/UNSUBACK reason code to a typed error. */
export function ackError(op: 'publish' | 'subscribe' | 'unsubscribe', target: string, code: number, protocolVersion: 4 | 5): DeviceError {
  const failCode: DeviceErrorCode = op === 'publish' ? 'PUBLISH_FAILED' : op === 'subscribe' ? 'SUBSCRIBE_FAILED' : 'UNSUBSCRIBE_FAILED';
  // MQTT 3.1.1 SUBACK has only 0x80 (failure): Mosquitto sends it for an ACL denial.
  const denied = code === 0x87 || (protocolVersion === 4 && op === 'subscribe' && code === 0x80);
  const text = protocolVersion === 4 && code === 0x80 ? 'failure (0x80)' : reasonText(code, 5);
  return new DeviceError(denied ? 'NOT_AUTHORIZED' : failCode, `${op} "${target}" refused by the broker: ${text}`, { reasonCode: code });
}

/** Maps whatever MQTT.js, the TLS layer or the socket raised to a `DeviceError`. */
export function mapTransportError(err: unknown, protocolVersion: 4 | 5): DeviceError {
  if (err instanceof DeviceError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const code = e.code;
  if (typeof code === 'number') return connackError(code, protocolVersion);
  if (typeof code === 'string') {
    if (SERVER_VERIFY_CODES.has(code)) {
      return new DeviceError('SERVER_CERT_UNTRUSTED', `the broker's certificate failed verification against the given CA (${code}): ${message}`, { cause: err });
    }
    for (const [re, c, text] of CLIENT_CERT_ALERTS) {
      if (re.test(code) || re.test(message)) return new DeviceError(c, `${text} (${code})`, { cause: err });
    }
    if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) {
      return new DeviceError('TLS_HANDSHAKE_FAILED', `TLS failed (${code}): ${message}`, { cause: err });
    }
    if (NETWORK_CODES.has(code)) return new DeviceError('NETWORK_ERROR', `network error (${code}): ${message}`, { cause: err });
  }
  if (/connack timeout/i.test(message)) return new DeviceError('CONNECT_TIMEOUT', 'no CONNACK from the broker in time', { cause: err });
  // MQTT.js's keep-alive gave up: no PINGRESP within 1.5 × Keep Alive (MQTT 3.1.1 §3.1.2.10).
  if (/keepalive timeout/i.test(message)) return new DeviceError('PING_TIMEOUT', 'no PINGRESP from the broker within 1.5 × the keep-alive interval', { cause: err });
  for (const [re, c, text] of CLIENT_CERT_ALERTS) {
    if (re.test(message)) return new DeviceError(c, `${text}: ${message}`, { cause: err });
  }
  return new DeviceError('NETWORK_ERROR', message, { cause: err });
}
