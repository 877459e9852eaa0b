import { assertInt, assertNumber, assertObject, describe } from './bytes.js';

/** LoRa coding rate as printed in datasheets. */
export type CodingRate = '4/5' | '4/6' | '4/7' | '4/8';

/** LoRa spreading factor supported by LoRaWAN (SF7 … SF12). */
export type SpreadingFactor = 7 | 8 | 9 | 10 | 11 | 12;

/** Parameters of {@link timeOnAir}. */
export interface LoRaAirtimeParams {
  /** 7 … 12. */
  readonly spreadingFactor: number;
  /** Channel bandwidth in Hz: 125000, 250000 or 500000. */
  readonly bandwidthHz: number;
  /** `'4/5'` … `'4/8'`. */
  readonly codingRate: CodingRate;
  /** PHYPayload length in bytes (MHDR + MACPayload + MIC), 0 … 255. */
  readonly payloadBytes: number;
  /** Programmed preamble length in symbols; LoRaWAN uses 8. Default 8. */
  readonly preambleSymbols?: number;
  /** Explicit PHY header; LoRaWAN always uses it. Default true. */
  readonly explicitHeader?: boolean;
  /** PHY payload CRC; on for LoRaWAN uplinks, off for downlinks. Default true. */
  readonly crc?: boolean;
  /** Low-data-rate optimisation; `'auto'` turns it on when the symbol time is ≥ 16 ms. Default `'auto'`. */
  readonly lowDataRateOptimize?: boolean | 'auto';
}

const CODING_RATES: Readonly<Record<string, number>> = { '4/5': 1, '4/6': 2, '4/7': 3, '4/8': 4 };
const BANDWIDTHS = [125_000, 250_000, 500_000];

/**
 * Time on air of a LoRa packet in milliseconds, exact (not rounded), by the Semtech
 * formula (SX1276 datasheet §4.1.1.7, AN1200.13):
 * `Tsym = 2^SF/BW`, `Tpreamble = (Npre + 4.25)·Tsym`,
 * `Npayload = 8 + max(ceil((8PL − 4SF + 28 + 16CRC − 20IH) / (4(SF − 2DE)))·(CR + 4), 0)`.
 *
 * @throws TypeError for wrong types; RangeError for an unsupported SF, bandwidth,
 *   coding rate or a payload outside 0 … 255 bytes.
 * @example
 * ```ts
 * import { timeOnAir } from '@outpost/lorawan';
 * timeOnAir({ spreadingFactor: 12, bandwidthHz: 125_000, codingRate: '4/5', payloadBytes: 51 }); // 2465.792
 * timeOnAir({ spreadingFactor: 7, bandwidthHz: 125_000, codingRate: '4/5', payloadBytes: 13 });  // 46.336
 * ```
 */
export function timeOnAir(params: LoRaAirtimeParams): number {
  assertObject(params, 'timeOnAir params');
  const { spreadingFactor: sf, bandwidthHz: bw, codingRate, payloadBytes: pl } = params;
  assertInt(sf, 'spreadingFactor', 7, 12);
  assertNumber(bw, 'bandwidthHz');
  if (!BANDWIDTHS.includes(bw)) throw new RangeError(`bandwidthHz: expected 125000, 250000 or 500000, got ${bw}`);
  if (typeof codingRate !== 'string') throw new TypeError(`codingRate: expected '4/5' … '4/8', got ${describe(codingRate)}`);
  const cr = CODING_RATES[codingRate];
  if (cr === undefined) throw new RangeError(`codingRate: expected '4/5', '4/6', '4/7' or '4/8', got '${codingRate}'`);
  assertInt(pl, 'payloadBytes', 0, 255);
  const npre = params.preambleSymbols ?? 8;
  assertInt(npre, 'preambleSymbols', 6, 65535);
  const ih = optionalBool(params.explicitHeader, 'explicitHeader', true) ? 0 : 1;
  const crc = optionalBool(params.crc, 'crc', true) ? 1 : 0;
  const ldro = params.lowDataRateOptimize ?? 'auto';
  if (ldro !== 'auto' && typeof ldro !== 'boolean') {
    throw new TypeError(`lowDataRateOptimize: expected a boolean or 'auto', got ${describe(ldro)}`);
  }
  return loraToaMs(sf, bw, cr, pl, npre, ih, crc, ldro);
}

/** Unchecked core of {@link timeOnAir}; `cr` is 1 … 4. */
export function loraToaMs(
  sf: number, bw: number, cr: number, pl: number, npre: number, ih: number, crc: number, ldro: boolean | 'auto',
): number {
  const tsymMs = ((1 << sf) * 1000) / bw;
  // SX1276 datasheet §4.1.1.6: LDRO mandated when the symbol time exceeds 16 ms.
  const de = (ldro === 'auto' ? tsymMs >= 16 : ldro) ? 1 : 0;
  const numerator = 8 * pl - 4 * sf + 28 + 16 * crc - 20 * ih;
  const nPayload = 8 + Math.max(Math.ceil(numerator / (4 * (sf - 2 * de))) * (cr + 4), 0);
  // One division at the end keeps the result the nearest double to the exact value.
  return ((npre + 4.25 + nPayload) * (1 << sf) * 1000) / bw;
}

/** Parameters of {@link fskTimeOnAir}. */
export interface FskAirtimeParams {
  /** PHYPayload length in bytes, 0 … 255. */
  readonly payloadBytes: number;
  /** Bit rate in bit/s. Default 50000 (EU868/AS923 DR7). */
  readonly bitrateBps?: number;
  /** Preamble bytes. Default 5 (RP002-1.0.3 §2.2.7 / LoRaMac-node). */
  readonly preambleBytes?: number;
  /** Sync word bytes. Default 3. */
  readonly syncWordBytes?: number;
  /** Length byte present (variable-length packet). Default true. */
  readonly lengthByte?: boolean;
  /** 2-byte CRC. Default true. */
  readonly crc?: boolean;
}

/**
 * Time on air of an FSK packet in milliseconds:
 * `8·(preamble + syncword + length byte + payload + CRC) / bitrate`, the same count the
 * SX1276 driver in LoRaMac-node uses (`SX1276GetTimeOnAir`, MODEM_FSK).
 *
 * @throws TypeError / RangeError on bad parameters.
 * @example
 * ```ts
 * import { fskTimeOnAir } from '@outpost/lorawan';
 * fskTimeOnAir({ payloadBytes: 51 }); // 9.92 ms at 50 kbps
 * ```
 */
export function fskTimeOnAir(params: FskAirtimeParams): number {
  assertObject(params, 'fskTimeOnAir params');
  assertInt(params.payloadBytes, 'payloadBytes', 0, 255);
  const bitrate = params.bitrateBps ?? 50_000;
  assertNumber(bitrate, 'bitrateBps', 1);
  const pre = params.preambleBytes ?? 5;
  assertInt(pre, 'preambleBytes', 0, 65535);
  const sync = params.syncWordBytes ?? 3;
  assertInt(sync, 'syncWordBytes', 0, 8);
  const len = optionalBool(params.lengthByte, 'lengthByte', true) ? 1 : 0;
  const crc = optionalBool(params.crc, 'crc', true) ? 2 : 0;
  return ((pre + sync + len + params.payloadBytes + crc) * 8 * 1000) / bitrate;
}

function optionalBool(v: unknown, name: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`${name}: expected a boolean, got ${describe(v)}`);
  return v;
}
