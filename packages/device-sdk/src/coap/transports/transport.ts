/** The CoAP side of the package's one datagram transport (transports/datagram.ts). */

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Loopback servers get a loopback-bound client socket; others the OS default. */
export function defaultLocalAddress(host: string): string | undefined {
  if (!LOOPBACK.has(host)) return undefined;
  return host === '::1' ? '::1' : '127.0.0.1';
}
