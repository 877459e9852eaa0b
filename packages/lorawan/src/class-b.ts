// Class B and Class C timing: LoRaWAN L2 1.0.4 §12–§13 (Class B: beacons every 128 s, ping
// slots placed by an AES-based per-device randomisation) and §14 (Class C: RX2 open
// continuously). Times are milliseconds since the GPS epoch (1980-01-06T00:00:00Z, no leap
// seconds), the time base of beacons; `gpsTimeMs` converts from Unix time.
import { aesEncryptBlocks } from './crypto.js';
import { assertBytesLength, assertInt, assertNumber, describe } from './bytes.js';
import { assertRegion, type Region } from './regions.js';

/**
 * Beacon period, ms (§13.1: 128 s).
 *
 * @example
 * ```ts
 * import { BEACON_PERIOD_MS } from '@outpost/lorawan';
 * BEACON_PERIOD_MS; // 128000
 * ```
 */
export const BEACON_PERIOD_MS = 128_000;
/**
 * Beacon-reserved interval at the start of each period, ms (§13.1).
 *
 * @example
 * ```ts
 * import { BEACON_RESERVED_MS } from '@outpost/lorawan';
 * BEACON_RESERVED_MS; // 2120
 * ```
 */
export const BEACON_RESERVED_MS = 2_120;
/**
 * Beacon guard before the next beacon, ms: no ping slot starts in it (§13.1).
 *
 * @example
 * ```ts
 * import { BEACON_GUARD_MS } from '@outpost/lorawan';
 * BEACON_GUARD_MS; // 3000
 * ```
 */
export const BEACON_GUARD_MS = 3_000;
/**
 * The beacon window that holds the ping slots, ms (§13.1: 122.88 s = 4096 slots of 30 ms).
 *
 * @example
 * ```ts
 * import { BEACON_WINDOW_MS } from '@outpost/lorawan';
 * BEACON_WINDOW_MS; // 122880
 * ```
 */
export const BEACON_WINDOW_MS = 122_880;
/**
 * Length of one ping slot, ms (§13.1).
 *
 * @example
 * ```ts
 * import { PING_SLOT_LENGTH_MS } from '@outpost/lorawan';
 * PING_SLOT_LENGTH_MS; // 30
 * ```
 */
export const PING_SLOT_LENGTH_MS = 30;
const PING_PERIOD_BASE = 4096; // 2^12 slots per beacon window

const UNIX_TO_GPS_MS = 315_964_800_000; // 1980-01-06T00:00:00Z in Unix ms
/**
 * GPS − UTC in seconds since 2017-01-01 (leap seconds inserted after 1980); pass the current value to `gpsTimeMs` if it changes.
 *
 * @example
 * ```ts
 * import { GPS_LEAP_SECONDS } from '@outpost/lorawan';
 * GPS_LEAP_SECONDS; // 18
 * ```
 */
export const GPS_LEAP_SECONDS = 18;

/**
 * GPS time in ms for a Unix time in ms (`Date.now()`): beacons and ping slots are counted on it.
 *
 * @example
 * ```ts
 * import { gpsTimeMs } from '@outpost/lorawan';
 * gpsTimeMs(Date.UTC(1980, 0, 6)); // 18000 (the leap seconds since, by default)
 * ```
 */
export function gpsTimeMs(unixMs: number, leapSeconds = GPS_LEAP_SECONDS): number {
  assertNumber(unixMs, 'unixMs', UNIX_TO_GPS_MS);
  assertInt(leapSeconds, 'leapSeconds', 0, 100);
  return unixMs - UNIX_TO_GPS_MS + leapSeconds * 1000;
}

/**
 * Start of the beacon period holding `gpsMs` (a multiple of 128 s since the GPS epoch).
 *
 * @example
 * ```ts
 * import { beaconStartMs } from '@outpost/lorawan';
 * beaconStartMs(300_000); // 256000
 * ```
 */
export function beaconStartMs(gpsMs: number): number {
  assertNumber(gpsMs, 'gpsMs', 0);
  return gpsMs - (gpsMs % BEACON_PERIOD_MS);
}

function pingPeriodOf(pingNb: number): number {
  assertInt(pingNb, 'pingNb', 1, 128);
  if ((pingNb & (pingNb - 1)) !== 0) throw new RangeError(`pingNb: expected a power of two 1…128, got ${pingNb}`);
  return PING_PERIOD_BASE / pingNb;
}

/**
 * The ping offset (in slots) of a device for the beacon period starting at `beaconMs`:
 * `Rand = aes128_encrypt(16 × 0x00, BeaconTime | DevAddr | pad16)`, offset =
 * `(Rand[0] + Rand[1] × 256) mod pingPeriod` (§13.2; BeaconTime and DevAddr little-endian).
 *
 * @param devAddr DevAddr, 4 bytes most significant first (as this package presents it).
 * @param pingNb ping slots per beacon period, a power of two 1…128 (2^(7 − periodicity)).
 * @throws TypeError / RangeError for bad arguments (a beacon time not on a period boundary).
 * @example
 * ```ts
 * import { pingOffset } from '@outpost/lorawan';
 * pingOffset(0, new Uint8Array(4), 1); // 2406
 * ```
 */
export function pingOffset(beaconMs: number, devAddr: Uint8Array, pingNb: number): number {
  assertInt(beaconMs, 'beaconMs', 0, Number.MAX_SAFE_INTEGER);
  if (beaconMs % BEACON_PERIOD_MS !== 0) throw new RangeError(`beaconMs: expected a multiple of ${BEACON_PERIOD_MS}, got ${beaconMs}`);
  assertBytesLength(devAddr, 'devAddr', 4);
  const period = pingPeriodOf(pingNb);
  const block = new Uint8Array(16);
  const beaconTime = (beaconMs / 1000) % 2 ** 32;
  new DataView(block.buffer).setUint32(0, beaconTime, true);
  for (let i = 0; i < 4; i++) block[4 + i] = devAddr[3 - i] as number;
  const rand = aesEncryptBlocks(new Uint8Array(16), block);
  return ((rand[0] as number) + (rand[1] as number) * 256) % period;
}

/**
 * The first ping slot of a device that starts after `afterGpsMs` (GPS ms): when a network
 * server can send it a Class B downlink. Slot start = beacon start + 2.12 s + (offset + N ×
 * pingPeriod) × 30 ms.
 *
 * @example
 * ```ts
 * import { nextPingSlotMs } from '@outpost/lorawan';
 * nextPingSlotMs(0, new Uint8Array(4), 2); // 12860
 * ```
 */
export function nextPingSlotMs(afterGpsMs: number, devAddr: Uint8Array, pingNb: number): number {
  assertNumber(afterGpsMs, 'afterGpsMs', 0);
  const period = pingPeriodOf(pingNb);
  for (let beacon = beaconStartMs(afterGpsMs); ; beacon += BEACON_PERIOD_MS) {
    const offset = pingOffset(beacon, devAddr, pingNb);
    for (let n = 0; n < pingNb; n++) {
      const at = beacon + BEACON_RESERVED_MS + (offset + n * period) * PING_SLOT_LENGTH_MS;
      if (at > afterGpsMs) return at;
    }
  }
}

/** When the network may transmit to a Class C device after its uplink. */
export interface ClassCWindows {
  /** RX1 opens (uplink end + RECEIVE_DELAY1), ms on the caller's clock. */
  readonly rx1StartMs: number;
  /** A downlink on the RX2 parameters may start at any time from here on (RX2 continuous). */
  readonly rx2ContinuousFromMs: number;
}

/**
 * Class C receive windows after an uplink that ended at `uplinkEndMs` (§14: RX2 continuous,
 * interrupted only by the device's own uplinks and RX1). The device listens on the RX2
 * parameters before the uplink, between its end and RX1 (RXC), and again from
 * `rx2ContinuousFromMs`; a network server sends on RX1 parameters in [rx1StartMs,
 * rx2ContinuousFromMs) and on RX2 parameters at any other time. `rx1WindowMs` is how long the
 * device keeps RX1 open (default 200 ms).
 *
 * @example
 * ```ts
 * import { EU868, classCWindows } from '@outpost/lorawan';
 * classCWindows(EU868, 10_000, { rx1WindowMs: 200 }); // { rx1StartMs: 11000, rx2ContinuousFromMs: 11200 }
 * ```
 */
export function classCWindows(region: Region, uplinkEndMs: number, options: { readonly rx1WindowMs?: number } = {}): ClassCWindows {
  assertRegion(region);
  assertNumber(uplinkEndMs, 'uplinkEndMs');
  if (typeof options !== 'object' || options === null) throw new TypeError(`options: expected an object, got ${describe(options)}`);
  const win = options.rx1WindowMs ?? 200;
  assertNumber(win, 'rx1WindowMs', 0, 10_000);
  const rx1StartMs = uplinkEndMs + region.rx1DelayMs;
  return { rx1StartMs, rx2ContinuousFromMs: rx1StartMs + win };
}
