// Chapter: a gateway next to a pump turns a 25.6 kHz 3-axis accelerometer stream into one
// feature record per second per axis, prints the ingress reduction, and raises an alert when a
// simulated bearing fault (an outer-race defect tone) appears half-way through.
import {
  AnomalyDetector,
  ISO_10816_3,
  bandPowers,
  countWindows,
  dominantFrequencies,
  interleavedFeatures,
  severityZone,
  velocityRms,
  welchPsd,
} from '@outpost/edge-aggregate';
import { openBuffer } from '@outpost/edge-buffer';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Chapter } from '../context.js';

const FS = 25_600;
const SECONDS = 10;
const FAULT_AT = 5;
const SHAFT_HZ = 24.6;
const BPFO_HZ = 137.5; // outer-race defect frequency of the simulated bearing

/** One second of interleaved x,y,z in m/s²: shaft tone, noise, gravity on z, and the defect tone on x once the fault starts. */
function simulateSecond(s: number, seed: { v: number }): Float32Array {
  const out = new Float32Array(3 * FS);
  const noise = (): number => {
    // Irwin–Hall approximation of a Gaussian from a 32-bit LCG: good enough for a demo floor.
    let sum = 0;
    for (let k = 0; k < 4; k++) {
      seed.v = (Math.imul(seed.v, 1664525) + 1013904223) >>> 0;
      sum += seed.v / 4294967296;
    }
    return (sum - 2) * 0.3;
  };
  for (let i = 0; i < FS; i++) {
    const t = s + i / FS;
    const shaft = 0.25 * Math.sin(2 * Math.PI * SHAFT_HZ * t); // 1.1 mm/s: a healthy machine, zone A
    const fault = s >= FAULT_AT ? 4 * Math.sin(2 * Math.PI * BPFO_HZ * t) : 0; // +3.3 mm/s: zone C
    out[3 * i] = shaft + fault + noise();
    out[3 * i + 1] = 0.8 * shaft + noise();
    out[3 * i + 2] = 9.81 + noise();
  }
  return out;
}

interface AxisRecord {
  readonly t: number;
  readonly axis: 'x' | 'y' | 'z';
  readonly rms: number;
  readonly kurtosis: number;
  readonly vrms: number;
  readonly zone: string;
  readonly dominantHz: number;
  readonly bpfoPower: number;
}

export const vibration: Chapter = {
  id: 'vibration',
  title: 'Edge vibration analytics: 25.6 kHz in, one record per second out, a bearing fault caught',
  async run(ctx) {
    const axes = ['x', 'y', 'z'] as const;
    const detectors = axes.map(() => new AnomalyDetector({ baseline: 30, minBaseline: 4, zThreshold: 6, madThreshold: 6 }));
    const flagged = [false, false, false];
    const alerts: { second: number; axis: string; bpfoPower: number }[] = [];
    const records: AxisRecord[] = [];
    let bytesIn = 0;
    let bytesOut = 0;
    // The sink: each summary is appended to a durable on-disk store-and-forward buffer, from which
    // an uplink would drain it when connected. The sink is synchronous; the appends are awaited below.
    const dir = mkdtempSync(join(tmpdir(), 'outpost-demo-vibration-'));
    const buffer = await openBuffer({ dir, maxBytes: 16 << 20, durability: 'batch' });
    const appends: Promise<number>[] = [];
    try {
      const gateway = countWindows({ size: FS, channels: 3 })
        .map((w) => interleavedFeatures(w.samples, 3).map((f, i): AxisRecord => {
          const psd = welchPsd(w.samples, { sampleRate: FS, segmentSize: 8192, offset: i, stride: 3 });
          const vrms = velocityRms(psd);
          return {
            t: w.index, axis: axes[i] ?? 'x', rms: f.rms, kurtosis: f.kurtosis, vrms,
            zone: severityZone(vrms, ISO_10816_3.group2Rigid),
            dominantHz: dominantFrequencies(psd, 1)[0]?.frequency ?? 0,
            bpfoPower: bandPowers(psd, [{ low: BPFO_HZ - 5, high: BPFO_HZ + 5 }])[0] ?? 0,
          };
        }))
        .to((perAxis) => {
          for (const [i, r] of perAxis.entries()) {
            records.push(r);
            const payload = new TextEncoder().encode(JSON.stringify(r)); // what goes upstream
            bytesOut += payload.length;
            appends.push(buffer.append(payload));
            const v = (detectors[i] as AnomalyDetector).check(Math.log10(r.bpfoPower));
            const flag = v.zAnomaly && v.madAnomaly;
            if (flag && !flagged[i]) alerts.push({ second: r.t, axis: r.axis, bpfoPower: r.bpfoPower });
            flagged[i] = flag;
          }
        });

      const seed = { v: 42 };
      for (let s = 0; s < SECONDS; s++) {
        const data = simulateSecond(s, seed);
        bytesIn += data.byteLength;
        for (let i = 0; i < data.length; i += 3 * 2560) gateway.push(data.subarray(i, i + 3 * 2560));
      }

      await Promise.all(appends); // every summary durable on disk (a full buffer or disk error would throw here)
      const stored = buffer.stats();

      const reduction = bytesIn / bytesOut;
      ctx.say(`  ${SECONDS} s of 3-axis acceleration at ${FS / 1000} kHz: ${bytesIn.toLocaleString('en-US')} bytes of float32 samples`);
      ctx.say(`  summarised to ${records.length} records (1/s/axis): ${bytesOut.toLocaleString('en-US')} bytes of JSON — ${reduction.toFixed(0)}× less ingress`);
      const x = records.filter((r) => r.axis === 'x');
      const first = x[0];
      const last = x[x.length - 1];
      if (first !== undefined && last !== undefined) {
        ctx.say(`  x axis at t=0 s: velocity ${first.vrms.toFixed(2)} mm/s RMS (ISO 10816-3 group 2 rigid: zone ${first.zone}), dominant ${first.dominantHz.toFixed(1)} Hz`);
        ctx.say(`  x axis at t=${last.t} s: velocity ${last.vrms.toFixed(2)} mm/s RMS (zone ${last.zone}), dominant ${last.dominantHz.toFixed(1)} Hz`);
      }
      ctx.say(`  appended to an on-disk edge-buffer: ${stored.records} records (${stored.bytes.toLocaleString('en-US')} bytes with headers) waiting for the uplink`);
      for (const a of alerts) {
        ctx.say(`  ALERT t=${a.second} s, ${a.axis} axis: energy at the bearing's outer-race frequency (${BPFO_HZ} Hz) jumped to ${a.bpfoPower.toFixed(2)} (m/s²)²`);
      }
      ctx.summary['vibration'] = {
        bytesIn,
        bytesOut,
        reduction: Math.round(reduction),
        records: records.length,
        alerts,
        dominantBefore: first?.dominantHz,
        dominantAfter: last?.dominantHz,
        zoneBefore: first?.zone,
        zoneAfter: last?.zone,
        buffered: stored.records,
        bufferedBytes: stored.bytes,
      };
    } finally {
      await buffer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
