// Gateway discovery (MQTT-SN 1.2 §6.1): SEARCHGW → GWINFO, or an ADVERTISE heard meanwhile.
import { describe } from './bytes.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { MqttSnError } from './errors.js';
import { systemClock, type Clock } from '../transports/clock.js';
import { MqttSnError as NetError } from './errors.js';
import { UdpEndpoint, type UdpPeer } from './udp.js';

/**
 * A gateway found by {@link searchGateway}.
 *
 * @example
 * ```ts
 * import type { DiscoveredGateway } from '@outpost/device-sdk/mqtt-sn';
 * const g: DiscoveredGateway = { gwId: 1, host: '127.0.0.1', port: 10000, via: 'GWINFO' };
 * g.via; // 'GWINFO'
 * ```
 */
export interface DiscoveredGateway {
  readonly gwId: number;
  readonly host: string;
  readonly port: number;
  /** How it was found: a GWINFO answer or an ADVERTISE. */
  readonly via: 'GWINFO' | 'ADVERTISE';
  /** For ADVERTISE: seconds until the next one. */
  readonly durationS?: number;
}

/**
 * Options for {@link searchGateway}.
 *
 * @example
 * ```ts
 * import type { SearchGatewayOptions } from '@outpost/device-sdk/mqtt-sn';
 * const o: SearchGatewayOptions = { address: '255.255.255.255', port: 10000, broadcast: true };
 * o.broadcast; // true
 * ```
 */
export interface SearchGatewayOptions {
  /** Where SEARCHGW goes: a broadcast address (with `broadcast: true`) or a gateway's address. */
  readonly address: string;
  readonly port: number;
  readonly broadcast?: boolean;
  /** Radius byte of SEARCHGW (default 1). */
  readonly radius?: number;
  /** Local address to bind and listen on (ADVERTISE arrives here too). */
  readonly bind?: { readonly host?: string; readonly port?: number };
  /** Give up after this long (default 5000 ms). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
}

/**
 * Looks for a gateway: sends SEARCHGW and resolves with the first GWINFO, or the first
 * ADVERTISE heard while waiting (MQTT-SN 1.2 §6.1).
 *
 * @throws MqttSnError TIMEOUT (nothing answered within `timeoutMs`), ABORTED.
 *
 * @example
 * ```ts
 * import { searchGateway, connectMqttSn } from '@outpost/device-sdk/mqtt-sn';
 * const gw = await searchGateway({ address: '255.255.255.255', port: 10000, broadcast: true });
 * const client = await connectMqttSn({ gateway: { host: gw.host, port: gw.port }, clientId: 'sensor-1' });
 * ```
 */
export async function searchGateway(options: SearchGatewayOptions): Promise<DiscoveredGateway> {
  if (options === null || typeof options !== 'object') throw new TypeError(`searchGateway: options: expected an object, got ${describe(options)}`);
  if (typeof options.address !== 'string') throw new TypeError(`searchGateway: address: expected a string, got ${describe(options.address)}`);
  if (typeof options.port !== 'number') throw new TypeError(`searchGateway: port: expected a number, got ${describe(options.port)}`);
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new RangeError(`searchGateway: port: expected 1…65535, got ${options.port}`);
  const timeoutMs = options.timeoutMs ?? 5000;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new RangeError(`searchGateway: timeoutMs: expected a positive number, got ${String(timeoutMs)}`);
  const clock = options.clock ?? systemClock;
  const signal = options.signal;
  if (signal?.aborted === true) throw new MqttSnError('ABORTED', 'searchGateway: aborted');
  let done: (r: DiscoveredGateway | Error) => void = () => {};
  const result = new Promise<DiscoveredGateway>((resolve, reject) => {
    done = (r) => (r instanceof Error ? reject(r) : resolve(r));
  });
  const onDatagram = (d: Uint8Array, from: UdpPeer): void => {
    try {
      const m = decodeMessage(d);
      if (m.type === 'GWINFO') done({ gwId: m.gwId, host: from.address, port: from.port, via: 'GWINFO' });
      else if (m.type === 'ADVERTISE') done({ gwId: m.gwId, host: from.address, port: from.port, via: 'ADVERTISE', durationS: m.durationS });
    } catch {
      // not for us
    }
  };
  const udp = await UdpEndpoint.bind({ host: options.bind?.host ?? '0.0.0.0', port: options.bind?.port ?? 0, wrapError: (msg, cause) => new NetError('NETWORK_ERROR', msg, { cause }) }, onDatagram, () => {});
  const timer = clock.setTimer(() => done(new MqttSnError('TIMEOUT', `searchGateway: no GWINFO or ADVERTISE within ${timeoutMs} ms`)), timeoutMs);
  const onAbort = (): void => done(new MqttSnError('ABORTED', 'searchGateway: aborted', { cause: signal?.reason }));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (options.broadcast === true) udp.setBroadcast(true);
    udp.send(encodeMessage({ type: 'SEARCHGW', radius: options.radius ?? 1 }), { address: options.address, port: options.port });
    return await result;
  } finally {
    clock.clearTimer(timer);
    signal?.removeEventListener('abort', onAbort);
    await udp.close();
  }
}
