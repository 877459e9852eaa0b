// Chapter 3: a LoRaWAN field sensor at SF12 in EU868 that runs into its duty-cycle limit, the
// scheduler telling it when it may send next, and a coverage report from gateway metadata.
// Time is simulated (the scheduler takes `now` as an input), so an hour runs in milliseconds.
import {
  EU868,
  airtimeForDataRate,
  decodeFrame,
  encodeFrame,
  estimateCoverage,
  suggestAdr,
  TransmitScheduler,
  uplinksPerHour,
  type UplinkMetadata,
} from '@outpost/lorawan';
import type { Chapter } from '../context.js';

const HOUR = 3_600_000;
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

export const lorawanField: Chapter = {
  id: 'lorawanField',
  title: 'A LoRaWAN field sensor: airtime, the 1% duty cycle, coverage',
  async run(ctx) {
    const payloadBytes = 51; // the most DR0 (SF12/125 kHz) carries in EU868
    const phyBytes = payloadBytes + 13;
    const airtimeMs = airtimeForDataRate(EU868, 0, phyBytes);
    const perHour = uplinksPerHour(0.01, airtimeMs);
    ctx.say(`  SF12/125 kHz, ${phyBytes}-byte frame: ${airtimeMs.toFixed(1)} ms on air; the 1% sub-band allows ${perHour} per hour`);

    // The sensor wants to report once a minute for an hour.
    const scheduler = new TransmitScheduler({ region: EU868 });
    let now = 0;
    let sent = 0;
    let firstWait: { at: number; until: number } | undefined;
    for (let minute = 0; minute < 60; minute++) scheduler.enqueue({ id: minute, payloadBytes: phyBytes, dataRate: 0 });
    while (now < HOUR) {
      const d = scheduler.next(now);
      if (d.kind === 'idle') break;
      if (d.kind === 'transmit') {
        sent++;
        now = d.at + d.airtimeMs + 60_000; // next reading a minute later
      } else {
        firstWait ??= { at: now, until: d.until };
        now = d.until;
      }
    }
    ctx.say(`  wanted 60 uplinks in the hour; the scheduler let ${sent} go out`);
    if (firstWait !== undefined) {
      ctx.say(`  first refusal at t=${(firstWait.at / 1000).toFixed(0)} s: next transmission allowed at t=${(firstWait.until / 1000).toFixed(0)} s`);
    }

    // One frame through the codec: encrypted, MIC'd, decoded and verified again.
    const keys = { nwkSKey: hex('44024241ed4ce9a68c6a8bc055233fd3'), appSKey: hex('ec925802ae430ca77fd3dd73cb2cc588') };
    const phy = encodeFrame({ type: 'UnconfirmedDataUp', devAddr: hex('26011bda'), fCnt: sent, fPort: 2, payload: new TextEncoder().encode('{"soil":0.31}') }, keys);
    const frame = decodeFrame(phy, keys);
    const micOk = frame.type === 'UnconfirmedDataUp' && frame.micStatus === 'valid';
    ctx.say(`  uplink frame ${Buffer.from(phy).toString('hex').slice(0, 24)}… decodes with MIC ${micOk ? 'valid' : 'INVALID'}`);

    // Coverage from what the gateways reported for the last 20 uplinks.
    const uplinks: UplinkMetadata[] = Array.from({ length: 20 }, (_, i) => ({
      spreadingFactor: 12,
      gateways: [
        { gatewayId: 'gw-hill', rssi: -112 + (i % 3), snr: -6 + (i % 4) * 0.5 },
        { gatewayId: 'gw-barn', rssi: -126, snr: -17.5 - (i % 2) },
        ...(i % 5 === 0 ? [{ gatewayId: 'gw-town', rssi: -133, snr: -22 }] : []),
      ],
    }));
    const coverage = estimateCoverage(uplinks, EU868);
    const adr = suggestAdr({ region: EU868, snrHistory: uplinks.map((u) => Math.max(...u.gateways.map((g) => g.snr))), dataRate: 0, txPowerIndex: 0 });
    ctx.say(`  coverage: ${coverage.verdict}, margin ${coverage.marginDb?.toFixed(1)} dB at SF12, ${coverage.gatewaysInRange} gateway(s) in range, fastest data rate that still closes: DR${coverage.fastestDataRate ?? '-'}`);
    ctx.say(`  ADR (ChirpStack rules): DR${adr.dataRate}, TX power index ${adr.txPowerIndex}${adr.changed ? ' (the network would send a LinkADRReq)' : ''}`);
    ctx.summary['lorawanField'] = {
      airtimeMs,
      allowedPerHour: perHour,
      wanted: 60,
      sent,
      firstWait,
      micValid: micOk,
      coverage: { verdict: coverage.verdict, marginDb: coverage.marginDb, gatewaysInRange: coverage.gatewaysInRange, fastestDataRate: coverage.fastestDataRate },
      adr: { dataRate: adr.dataRate, txPowerIndex: adr.txPowerIndex, changed: adr.changed },
    };
  },
};
