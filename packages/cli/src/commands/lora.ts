import { resolve } from 'node:path';
import {
  decodeFrame, DutyCycleAccountant, fromHex, getRegion, timeOnAir, toHex, uplinksPerHour, dataRateFor, airtimeForDataRate,
  loadPayloadCodec, maxAppPayload, txPowerDbm, LoRaWANError, REGIONAL_PARAMETERS, REGION_NAMES,
  type CodingRate, type Frame, type Region,
} from '@outpost/lorawan';
import { CliError, defineCommand, emit, requireString, type Command } from '../command.js';
import { readCapped } from '../files.js';

function num(value: unknown, flag: string, min: number, max: number, integer = true): number {
  const s = requireString(value, flag);
  const n = Number(s);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new CliError('USAGE', `--${flag}: expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got "${s}"`, 2);
  }
  return n;
}

function codingRate(value: unknown): CodingRate {
  const s = value === undefined ? '4/5' : requireString(value, 'cr');
  if (s !== '4/5' && s !== '4/6' && s !== '4/7' && s !== '4/8') throw new CliError('USAGE', `--cr: expected 4/5, 4/6, 4/7 or 4/8, got "${s}"`, 2);
  return s;
}

function bandwidthHz(value: unknown): number {
  const khz = value === undefined ? 125 : num(value, 'bw', 125, 500);
  if (khz !== 125 && khz !== 250 && khz !== 500) throw new CliError('USAGE', `--bw: expected 125, 250 or 500 (kHz), got "${String(value)}"`, 2);
  return khz * 1000;
}

function key(value: unknown, flag: string): Uint8Array | undefined {
  if (value === undefined) return undefined;
  const s = requireString(value, flag);
  if (!/^[0-9a-fA-F]{32}$/.test(s)) throw new CliError('USAGE', `--${flag}: expected 32 hex digits (16 bytes), got ${s.length} characters`, 2);
  return fromHex(s);
}

/** JSON-friendly view of a decoded frame: byte fields as hex. */
function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return toHex(value);
  if (value instanceof Error) return { code: (value as { code?: unknown }).code, message: value.message };
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  return value;
}

function describeFrame(f: Frame): string {
  const lines = [`type        ${f.type}`];
  const j = toJson(f) as Record<string, unknown>;
  for (const [k, v] of Object.entries(j)) {
    if (k === 'type') continue;
    lines.push(`${k.padEnd(11)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  return lines.join('\n');
}

const MAX_CODEC_BYTES = 1 << 20;

function regionTables(region: Region): Record<string, unknown> {
  const drs = region.dataRates.flatMap((d) => (d === undefined ? [] : [d]));
  const payload = (dwellTime: boolean) => drs.map((d) => {
    try {
      return { dr: d.dr, n: maxAppPayload(region, d.dr, { dwellTime }) };
    } catch {
      return { dr: d.dr, n: null };
    }
  });
  const repeater = region.maxMacPayloadRepeater;
  const offsets = Array.from({ length: region.maxRx1DrOffset + 1 }, (_, o) => o);
  return {
    name: region.name,
    spec: `${REGIONAL_PARAMETERS} ${region.section}`,
    dataRates: drs,
    maxAppPayload: payload(false),
    maxAppPayloadDwell: payload(true),
    maxAppPayloadRepeater: repeater === undefined ? null : drs.map((d) => ({ dr: d.dr, n: repeater[d.dr] === undefined ? null : (repeater[d.dr] as number) - 8 })),
    defaultChannels: region.defaultChannels,
    rx1DataRate: drs.filter((d) => d.dr < 8).map((d) => ({ dr: d.dr, byOffset: offsets.map((o) => region.rx1DataRate(d.dr, o)) })),
    rx2: region.rx2,
    delaysMs: { rx1: region.rx1DelayMs, rx2: region.rx2DelayMs, joinAccept1: region.joinAcceptDelay1Ms, joinAccept2: region.joinAcceptDelay2Ms },
    txPowerDbm: region.txPowerStepsDb.map((_, i) => txPowerDbm(region, i)),
    dutyCycle: region.dutyCycle,
    dutyCycleSubBands: region.dutyCycleSubBands ?? null,
    listenBeforeTalk: region.lbt ?? null,
    uplinkDwellTimeMs: region.uplinkDwellTimeMs ?? null,
  };
}

function describeRegion(t: Record<string, unknown>): string {
  const lines = [`${String(t['name'])}`];
  for (const [k, v] of Object.entries(t)) if (k !== 'name') lines.push(`${k.padEnd(19)} ${JSON.stringify(v)}`);
  return lines.join('\n');
}

export const loraCommands: readonly Command[] = [
  defineCommand({
    path: ['lora', 'toa'],
    summary: 'LoRa time on air of a packet (Semtech formula)',
    about: `LoRa time on air by the Semtech formula (SX1276 datasheet, AN1200.13), exact, with
low-data-rate optimisation on when the symbol time is ≥ 16 ms.`,
    flags: {
      sf: { type: 'string', arg: 'N', required: true, help: 'spreading factor 7…12' },
      bytes: { type: 'string', arg: 'N', required: true, help: 'PHYPayload length in bytes 0…255' },
      bw: { type: 'string', arg: 'KHZ', help: 'bandwidth in kHz: 125, 250 or 500 (default 125)' },
      cr: { type: 'string', arg: '4/x', help: 'coding rate 4/5…4/8 (default 4/5)' },
      preamble: { type: 'string', arg: 'N', help: 'preamble symbols (default 8)' },
      'no-crc': { type: 'boolean', help: 'payload CRC off (downlinks)' },
      implicit: { type: 'boolean', help: 'implicit header' },
    },
    example: 'outpost lora toa --sf 12 --bw 125 --cr 4/5 --bytes 51     # 2465.792 ms',
    async run({ values }, io) {
      const params = {
        spreadingFactor: num(values['sf'], 'sf', 7, 12),
        bandwidthHz: bandwidthHz(values['bw']),
        codingRate: codingRate(values['cr']),
        payloadBytes: num(values['bytes'], 'bytes', 0, 255),
        preambleSymbols: values['preamble'] === undefined ? 8 : num(values['preamble'], 'preamble', 6, 65535),
        crc: values['no-crc'] !== true,
        explicitHeader: values['implicit'] !== true,
      };
      const ms = timeOnAir(params);
      const symbolMs = (2 ** params.spreadingFactor * 1000) / params.bandwidthHz;
      emit(io, values.json, { ...params, timeOnAirMs: ms, symbolTimeMs: symbolMs, lowDataRateOptimize: symbolMs >= 16 },
        `${ms} ms on air (SF${params.spreadingFactor}, ${params.bandwidthHz / 1000} kHz, CR ${params.codingRate}, ${params.payloadBytes} bytes, symbol ${symbolMs} ms, LDRO ${symbolMs >= 16 ? 'on' : 'off'})`);
      return 0;
    },
  }),
  defineCommand({
    path: ['lora', 'decode'],
    summary: 'decode a LoRaWAN PHYPayload (MIC check and decryption with keys)',
    positionals: 'HEX',
    about: `Decodes a LoRaWAN PHYPayload given in hex. With --nwkskey the MIC is checked (a bad MIC is
reported, not an error); with --appskey the FRMPayload is decrypted; with --appkey join
requests are checked and join-accepts decrypted. Keys are 32 hex digits.`,
    flags: {
      nwkskey: { type: 'string', arg: 'K', help: 'network session key (MIC, FPort 0 payload)' },
      appskey: { type: 'string', arg: 'K', help: 'application session key (FRMPayload)' },
      appkey: { type: 'string', arg: 'K', help: 'root key (join-request MIC, join-accept decryption)' },
      'fcnt-last': { type: 'string', arg: 'N', help: 'last accepted 32-bit frame counter, to rebuild FCnt' },
    },
    example: `outpost lora decode 40F17DBE4900020001954378762B11FF0D \\
  --nwkskey 44024241ed4ce9a68c6a8bc055233fd3 --appskey ec925802ae430ca77fd3dd73cb2cc588`,
    async run({ values, positionals }, io) {
      if (positionals.length !== 1) throw new CliError('USAGE', `expected one HEX argument, got ${positionals.length}`, 2);
      const hex = positionals[0] as string;
      if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new CliError('USAGE', 'HEX: expected an even number of hex digits', 2);
      const nwkSKey = key(values['nwkskey'], 'nwkskey');
      const appSKey = key(values['appskey'], 'appskey');
      const appKey = key(values['appkey'], 'appkey');
      const frame = decodeFrame(fromHex(hex), {
        ...(nwkSKey === undefined ? {} : { nwkSKey }),
        ...(appSKey === undefined ? {} : { appSKey }),
        ...(appKey === undefined ? {} : { appKey }),
      }, values['fcnt-last'] === undefined ? {} : { lastFCnt: num(values['fcnt-last'], 'fcnt-last', 0, 0xffffffff) });
      emit(io, values.json, toJson(frame), describeFrame(frame));
      return 0;
    },
  }),
  defineCommand({
    path: ['lora', 'budget'],
    summary: 'uplinks per hour the duty cycle allows on a frequency',
    about: `How many uplinks per hour the duty cycle of the sub-band containing --freq allows for a
PHYPayload of --bytes at --sf (ETSI EN 300 220 sub-bands for EU868; the region's bands for
EU433, CN779, RU864). Regions without a duty cycle (US915, AU915, AS923, KR920, IN865) report
the dwell-time limit instead.`,
    flags: {
      sf: { type: 'string', arg: 'N', required: true, help: 'spreading factor 7…12' },
      bytes: { type: 'string', arg: 'N', required: true, help: 'PHYPayload length in bytes' },
      freq: { type: 'string', arg: 'MHZ', required: true, help: 'channel frequency in MHz' },
      region: { type: 'string', arg: 'R', help: 'EU868 (default) or another region of `outpost lora region`' },
      bw: { type: 'string', arg: 'KHZ', help: 'bandwidth in kHz (default 125)' },
    },
    example: 'outpost lora budget --region EU868 --sf 12 --bytes 51 --freq 868.1     # 14 per hour',
    async run({ values }, io) {
      let region;
      try {
        region = getRegion(requireString(values['region'] ?? 'EU868', 'region'));
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError('USAGE', `--region: ${(err as Error).message.replace(/^region: /, '')}`, 2);
      }
      const sf = num(values['sf'], 'sf', 7, 12);
      const bw = bandwidthHz(values['bw']);
      const bytes = num(values['bytes'], 'bytes', 1, 255);
      const freqMHz = num(values['freq'], 'freq', 100, 1000, false);
      const frequencyHz = Math.round(freqMHz * 1e6);
      const dr = dataRateFor(region, sf, bw);
      const airtimeMs = dr === undefined ? timeOnAir({ spreadingFactor: sf, bandwidthHz: bw, codingRate: '4/5', payloadBytes: bytes }) : airtimeForDataRate(region, dr, bytes);
      if (!region.dutyCycle) {
        const dwell = region.uplinkDwellTimeMs;
        const result = { region: region.name, dataRate: dr ?? null, airtimeMs, dutyCycle: null, dwellTimeMs: dwell ?? null, allowed: dwell === undefined || airtimeMs <= dwell };
        emit(io, values.json, result, `${region.name}: no duty cycle; ${airtimeMs} ms on air${dwell === undefined ? '' : ` ${airtimeMs <= dwell ? 'within' : 'EXCEEDS'} the ${dwell} ms dwell time`}`);
        return 0;
      }
      const band = new DutyCycleAccountant(region.dutyCycleSubBands === undefined ? {} : { subBands: region.dutyCycleSubBands }).subBandOf(frequencyHz);
      const perHour = uplinksPerHour(band.dutyCycle, airtimeMs);
      const result = { region: region.name, dataRate: dr ?? null, frequencyHz, subBand: band.name, dutyCycle: band.dutyCycle, airtimeMs, uplinksPerHour: perHour, minIntervalMs: airtimeMs / band.dutyCycle };
      emit(io, values.json, result,
        `${perHour} uplinks per hour: ${airtimeMs} ms on air (SF${sf}, ${bytes} bytes) in sub-band ${band.name} ` +
        `(${band.minHz / 1e6}–${band.maxHz / 1e6} MHz, ${band.dutyCycle * 100} % duty cycle); one every ${(airtimeMs / band.dutyCycle / 1000).toFixed(1)} s on average`);
      return 0;
    },
  }),
  defineCommand({
    path: ['lora', 'region'],
    summary: "a region's tables (data rates, payloads, channels, RX1/RX2, power)",
    positionals: 'NAME',
    about: `Prints a region's tables as this package implements them (${REGIONAL_PARAMETERS}, with the
section): data rates, maximum payload sizes N with and without dwell time and repeater
compatible, default channels, RX1 data-rate table, RX2, delays, TX power, duty-cycle bands
and listen-before-talk parameters.

NAME is one of ${REGION_NAMES.join(', ')} (case-insensitive, AS923_2 = AS923-2).`,
    flags: {},
    example: 'outpost lora region AS923',
    async run({ values, positionals }, io) {
      if (positionals.length !== 1) throw new CliError('USAGE', `expected one region NAME, got ${positionals.length}`, 2);
      let region: Region;
      try {
        region = getRegion(positionals[0] as string);
      } catch (err) {
        throw new CliError('USAGE', `NAME: ${(err as Error).message.replace(/^region: /, '')}`, 2);
      }
      const t = regionTables(region);
      emit(io, values.json, t, describeRegion(t));
      return 0;
    },
  }),
  defineCommand({
    path: ['lora', 'codec'],
    summary: 'run a TS013 payload codec, isolated, on one payload',
    about: `Runs a TS013 payload codec (a TTN Device Repository codec file: decodeUplink, decodeDownlink)
isolated (a worker with a bounded heap, no Node globals, a time budget) on one payload.
Exits 1 with the codec's errors when it fails.`,
    flags: {
      codec: { type: 'string', arg: 'FILE', required: true, help: 'the codec script (at most 1 MiB)' },
      port: { type: 'string', arg: 'N', required: true, help: 'FPort 0…255' },
      hex: { type: 'string', arg: 'BYTES', required: true, help: 'the payload in hex' },
      downlink: { type: 'boolean', help: 'call decodeDownlink instead of decodeUplink' },
      'timeout-ms': { type: 'string', arg: 'N', help: 'CPU budget of the call (default 50)' },
    },
    example: 'outpost lora codec --codec vendor/lht65.js --port 2 --hex cbf60b0d0376010adc7fff',
    async run({ values }, io) {
      const path = requireString(values['codec'], 'codec');
      const fPort = num(values['port'], 'port', 0, 255);
      const hex = requireString(values['hex'], 'hex');
      if (!/^([0-9a-fA-F]{2})*$/.test(hex) || hex.length > 510) throw new CliError('USAGE', '--hex: expected an even number of hex digits, at most 255 bytes', 2);
      const timeoutMs = values['timeout-ms'] === undefined ? 50 : num(values['timeout-ms'], 'timeout-ms', 1, 60_000);
      const source = Buffer.from(await readCapped(resolve(io.cwd, path), { what: '--codec', cap: MAX_CODEC_BYTES })).toString('utf8');
      let codec;
      try {
        codec = await loadPayloadCodec(source, { timeoutMs });
      } catch (err) {
        if (err instanceof LoRaWANError) throw new CliError('CODEC_INVALID', `--codec: ${err.message.replace(/^loadPayloadCodec: /, '')}`, 1);
        throw err;
      }
      try {
        const input = { bytes: fromHex(hex), fPort };
        const r = values['downlink'] === true ? await codec.decodeDownlink(input) : await codec.decodeUplink(input);
        const human = r.ok
          ? `${JSON.stringify(r.data, null, 2)}${r.warnings.length > 0 ? `\nwarnings: ${r.warnings.join('; ')}` : ''}`
          : `${r.code}: ${r.errors.join('; ')}`;
        if (!r.ok && !values.json) throw new CliError(r.code, human, 1);
        emit(io, values.json, r, human);
        return r.ok ? 0 : 1;
      } finally {
        await codec.close();
      }
    },
  }),
];
