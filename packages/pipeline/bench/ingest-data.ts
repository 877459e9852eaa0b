// The telemetry the end-to-end ingest bench sends: DEVICES devices, each message one JSON object
// with four metrics at one event time. Shared by the publisher (which encodes it) and the bench
// (which gives the same rows to the COPY anchor).
import type { TelemetryPoint } from '@outpost/pipeline';
import type { Fleet } from '../../device-sdk/test/fixtures/fleet.js';

/** The benches' devices: `count` fleet identities named `${prefix}-${i}`, as the publisher process takes them. */
export function benchDevices(fleet: Fleet, count: number, prefix = 'meter'): Promise<{ id: string; cert: string; key: string }[]> {
  return Promise.all(Array.from({ length: count }, async (_, i) => {
    const d = await fleet.device(`${prefix}-${i}`);
    return { id: d.deviceId, cert: d.cert, key: d.key };
  }));
}

export const METRICS = ['temperature', 'humidity', 'pressure', 'battery_mv'] as const;

export function reading(device: number, seq: number): Record<(typeof METRICS)[number], number> {
  return {
    temperature: Math.round((20 + ((device * 7 + seq * 13) % 600) / 10) * 10) / 10,
    humidity: (device * 3 + seq * 7) % 100,
    pressure: 1000 + ((device + seq) % 50),
    battery_mv: 3000 + ((device * 11 + seq) % 1200),
  };
}

export function payload(device: number, seq: number, t0: number): string {
  return JSON.stringify({ ts: t0 + seq * 1000, ...reading(device, seq) });
}

export function points(devices: readonly string[], messagesPerDevice: number, t0: number): TelemetryPoint[] {
  const out: TelemetryPoint[] = [];
  for (let seq = 0; seq < messagesPerDevice; seq++) {
    for (let d = 0; d < devices.length; d++) {
      const r = reading(d, seq);
      for (const m of METRICS) out.push({ device: devices[d] as string, time: t0 + seq * 1000, metric: m, value: r[m] });
    }
  }
  return out;
}

/** `MAX_WRITE_POINTS` / `RELEASE_PER_TURN` / `MAX_IN_FLIGHT` from the environment as pipeline options (A/B runs of the benches). */
export function abOptions(): { maxWritePoints?: number; releasePerTurn?: number; maxInFlight?: number } {
  const n = (k: string): number | undefined => (process.env[k] === undefined ? undefined : Number(process.env[k]));
  const maxWritePoints = n('MAX_WRITE_POINTS');
  const releasePerTurn = n('RELEASE_PER_TURN');
  const maxInFlight = n('MAX_IN_FLIGHT');
  return { ...(maxWritePoints !== undefined ? { maxWritePoints } : {}), ...(releasePerTurn !== undefined ? { releasePerTurn } : {}), ...(maxInFlight !== undefined ? { maxInFlight } : {}) };
}
