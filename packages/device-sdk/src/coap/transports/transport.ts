/** The datagram transport a CoAP client speaks over: plain UDP or DTLS. */
import type { CoapError } from '../errors.js';

/**
 * A connected datagram transport to one CoAP server: what `connectCoap` opens for
 * `coap://` (UDP) and `coaps://` (DTLS), or what a caller passes as `transport`.
 *
 * @example
 * ```ts
 * import { connectCoap, type CoapTransport } from '@outpost/device-sdk/coap';
 * const loopback: CoapTransport = { send: () => {}, onMessage: () => {}, onError: () => {}, close: async () => {} };
 * const c = await connectCoap('coap://127.0.0.1', { insecure: true, transport: loopback });
 * c.origin; // 'coap://127.0.0.1'
 * await c.close();
 * ```
 */
export interface CoapTransport {
  /** Sends one datagram; throws when the transport is closed. */
  send(bytes: Uint8Array): void;
  /** Receives every datagram from the server. */
  onMessage(fn: (bytes: Uint8Array) => void): void;
  /** Called once when the transport fails for good. */
  onError(fn: (err: CoapError) => void): void;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Loopback servers get a loopback-bound client socket; others the OS default. */
export function defaultLocalAddress(host: string): string | undefined {
  if (!LOOPBACK.has(host)) return undefined;
  return host === '::1' ? '::1' : '127.0.0.1';
}
