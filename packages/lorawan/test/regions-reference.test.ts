import { describe, expect, it } from 'vitest';
import { AS923, US915, maxAppPayload } from '../src/index.js';
import { AS923_MAX_N_DWELL1, AS923_RX1_DWELL0, AS923_RX1_DWELL1, US915_RX1 } from './reference/loramac-node.js';

// Every cell of the second implementation's tables (test/reference/loramac-node.ts says where
// each came from), not a sample.
describe('regional tables against LoRaMac-node', () => {
  it('AS923 RX1 data rate, DownlinkDwellTime = 0 (RP002-1.0.1+ allows up to DR7)', () => {
    const ours = AS923_RX1_DWELL0.map((row, up) => row.map((_, off) => AS923.rx1DataRate(up, off)));
    expect(ours).toEqual(AS923_RX1_DWELL0);
  });

  it('AS923 RX1 data rate, DownlinkDwellTime = 1 (floor DR2)', () => {
    const ours = AS923_RX1_DWELL1.map((row, up) => row.map((_, off) => AS923.rx1DataRate(up, off, { downlinkDwellTime: true })));
    expect(ours).toEqual(AS923_RX1_DWELL1);
  });

  it('AS923 maximum payload with the uplink dwell time limit', () => {
    const ours = AS923_MAX_N_DWELL1.map((_, dr) => {
      try {
        return maxAppPayload(AS923, dr, { dwellTime: true });
      } catch {
        return 0;
      }
    });
    expect(ours).toEqual(AS923_MAX_N_DWELL1);
  });

  it('US915 RX1 data rate', () => {
    const ours = US915_RX1.map((row, up) => row.map((_, off) => US915.rx1DataRate(up, off)));
    expect(ours).toEqual(US915_RX1);
  });
});
