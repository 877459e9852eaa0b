// Ingress reduction, measured: a 3-axis accelerometer at 25.6 kHz summarised to one CBOR feature
// record per second per axis, with a bearing-defect tone injected half-way through that must be
// visible in the summaries. The README quotes the figures this test prints.
import { Decoder, Encoder, FLOAT32_OPTIONS } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { AnomalyDetector, ISO_10816_3, bandPowers, countWindows, dominantFrequencies, interleavedFeatures, severityZone, velocityRms, welchPsd } from '../src/index.js';
import { gaussian, sine } from './signals.js';

const FS = 25_600;
const SECONDS = 10;
const FAULT_AT = 5; // s
const BPFO = 137.5; // Hz: outer-race defect frequency of the simulated bearing
const SHAFT = 24.6; // Hz

/** One second of x,y,z acceleration in m/s², interleaved; from FAULT_AT on, x carries the defect tone. */
function second(s: number): Float32Array {
  const shaft = sine(FS, 1.2, SHAFT, FS, s);
  const out = new Float32Array(3 * FS);
  const nx = gaussian(FS, 0.3, 100 + s);
  const ny = gaussian(FS, 0.3, 200 + s);
  const nz = gaussian(FS, 0.3, 300 + s);
  const fault = s >= FAULT_AT ? sine(FS, 2, BPFO, FS) : undefined;
  for (let i = 0; i < FS; i++) {
    out[3 * i] = (shaft[i] as number) + (nx[i] as number) + (fault?.[i] ?? 0);
    out[3 * i + 1] = 0.8 * (shaft[i] as number) + (ny[i] as number);
    out[3 * i + 2] = 9.81 + (nz[i] as number);
  }
  return out;
}

describe('ingress reduction: 25.6 kHz × 3 axes → 1 record/s/axis', () => {
  it('cuts bytes by more than 500× and keeps the bearing fault visible', () => {
    const cbor = new Encoder({ useRecords: false, useFloat32: FLOAT32_OPTIONS.ALWAYS });
    const encoded: Uint8Array[] = [];
    const alerts: { second: number; axis: number }[] = [];
    // One detector per axis on log10(band power at BPFO): a tone raises it by orders of magnitude,
    // while the noise floor wanders by a few tenths. Alerts are edge-triggered (first flag of a run).
    const detectors = [0, 1, 2].map(() => new AnomalyDetector({ baseline: 30, minBaseline: 4, zThreshold: 6, madThreshold: 6 }));
    const flagged = [false, false, false];
    let bytesIn = 0;
    const w = countWindows({ size: FS, channels: 3 })
      .map((e) => interleavedFeatures(e.samples, 3).map((f, axis) => {
        const psd = welchPsd(e.samples, { sampleRate: FS, segmentSize: 8192, offset: axis, stride: 3 });
        const v = velocityRms(psd);
        const [bearing] = bandPowers(psd, [{ low: BPFO - 5, high: BPFO + 5 }]);
        return {
          t: e.index, axis, rms: f.rms, peak: f.peak, crest: f.crestFactor, kurt: f.kurtosis,
          vrms: v, zone: severityZone(v, ISO_10816_3.group2Rigid),
          dom: dominantFrequencies(psd, 2).map((p) => Math.round(p.frequency * 10) / 10),
          bpfo: bearing ?? 0,
        };
      }))
      .to((records) => {
        for (const r of records) {
          encoded.push(cbor.encode(r));
          const verdict = (detectors[r.axis] as AnomalyDetector).check(Math.log10(r.bpfo));
          const flag = verdict.madAnomaly && verdict.zAnomaly;
          if (flag && !flagged[r.axis]) alerts.push({ second: r.t, axis: r.axis });
          flagged[r.axis] = flag;
        }
      });
    for (let s = 0; s < SECONDS; s++) {
      const data = second(s);
      for (let i = 0; i < data.length; i += 3 * 2560) {
        const chunk = data.subarray(i, i + 3 * 2560);
        bytesIn += chunk.byteLength;
        w.push(chunk);
      }
    }
    const bytesOut = encoded.reduce((n, b) => n + b.length, 0);
    const reduction = bytesIn / bytesOut;
    console.log(`ingress: ${bytesIn} B in (float32), ${bytesOut} B out (${encoded.length} CBOR records), reduction ${reduction.toFixed(0)}×`);
    expect(encoded).toHaveLength(SECONDS * 3);
    expect(bytesIn).toBe(SECONDS * FS * 3 * 4);
    expect(reduction).toBeGreaterThan(500);

    const records = encoded.map((b) => new Decoder({ useRecords: false }).decode(b) as { t: number; axis: number; bpfo: number; dom: number[]; vrms: number; zone: string });
    const x = records.filter((r) => r.axis === 0);
    const before = x.filter((r) => r.t < FAULT_AT);
    const after = x.filter((r) => r.t >= FAULT_AT);
    // Band power around BPFO: a 2 m/s² tone carries 2 (m/s²)²; the noise floor in 10 Hz is ~1e-4.
    for (const r of before) expect(r.bpfo).toBeLessThan(0.01);
    for (const r of after) {
      expect(r.bpfo).toBeCloseTo(2, 1);
      expect(r.dom[0]).toBeCloseTo(BPFO, 0);
    }
    for (const r of before) expect(r.dom[0]).toBeCloseTo(SHAFT, 0);
    // Velocity RMS: the 1.2 m/s² shaft tone at 24.6 Hz alone is 5.49 mm/s; the 2 m/s² defect tone
    // at 137.5 Hz adds 1.64 mm/s in quadrature.
    const vShaft = (1.2 / (2 * Math.PI * SHAFT) / Math.SQRT2) * 1000;
    const vFault = (2 / (2 * Math.PI * BPFO) / Math.SQRT2) * 1000;
    const vBefore = before.reduce((s, r) => s + r.vrms, 0) / before.length;
    expect(vBefore / vShaft).toBeCloseTo(1, 1);
    for (const r of after) expect(r.vrms / Math.hypot(vBefore, vFault)).toBeCloseTo(1, 2);
    expect(Math.min(...after.map((r) => r.vrms))).toBeGreaterThan(Math.max(...before.map((r) => r.vrms)));
    // The rolling-baseline detector raises exactly one alert, on the x axis when the fault appears.
    expect(alerts).toEqual([{ second: FAULT_AT, axis: 0 }]);
    // y and z are unaffected.
    for (const r of records.filter((q) => q.axis !== 0)) expect(r.bpfo).toBeLessThan(0.01);
  });
});
