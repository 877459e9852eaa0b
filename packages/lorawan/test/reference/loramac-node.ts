// Tables transcribed from Semtech's LoRaMac-node, the reference end-device stack, as a second
// implementation to check ours against. Source: github.com/Lora-net/LoRaMac-node,
// commit 0062112ab546457f711904c9cb41eca8381900f2:
// - src/mac/region/RegionAS923.h: EffectiveRx1DrOffsetDownlinkDwell0AS923 and
//   EffectiveRx1DrOffsetDownlinkDwell1AS923 (the RP002-1.0.x tables, REGION_VERSION 0x02010001),
//   MaxPayloadOfDatarateDwell1AS923 (N, FRMPayload bytes);
// - src/mac/region/RegionUS915.h: DatarateOffsetsUS915.
// Rows are the uplink DR, columns the RX1DROffset; each cell the RX1 downlink DR.

/** AS923, DownlinkDwellTime = 0: [uplinkDr][rx1DrOffset] → RX1 DR. */
export const AS923_RX1_DWELL0: readonly (readonly number[])[] = [
  [0, 0, 0, 0, 0, 0, 1, 2],
  [1, 0, 0, 0, 0, 0, 2, 3],
  [2, 1, 0, 0, 0, 0, 3, 4],
  [3, 2, 1, 0, 0, 0, 4, 5],
  [4, 3, 2, 1, 0, 0, 5, 6],
  [5, 4, 3, 2, 1, 0, 6, 7],
  [6, 5, 4, 3, 2, 1, 7, 7],
  [7, 6, 5, 4, 3, 2, 7, 7],
];

/** AS923, DownlinkDwellTime = 1 (400 ms): [uplinkDr][rx1DrOffset] → RX1 DR. */
export const AS923_RX1_DWELL1: readonly (readonly number[])[] = [
  [2, 2, 2, 2, 2, 2, 2, 2],
  [2, 2, 2, 2, 2, 2, 2, 3],
  [2, 2, 2, 2, 2, 2, 3, 4],
  [3, 2, 2, 2, 2, 2, 4, 5],
  [4, 3, 2, 2, 2, 2, 5, 6],
  [5, 4, 3, 2, 2, 2, 6, 7],
  [6, 5, 4, 3, 2, 2, 7, 7],
  [7, 6, 5, 4, 3, 2, 7, 7],
];

/** AS923 maximum FRMPayload N per DR with UplinkDwellTime = 1 (0 = not allowed). */
export const AS923_MAX_N_DWELL1: readonly number[] = [0, 0, 11, 53, 125, 242, 242, 242];

/** US915: [uplinkDr 0–4][rx1DrOffset 0–3] → RX1 DR. */
export const US915_RX1: readonly (readonly number[])[] = [
  [10, 9, 8, 8],
  [11, 10, 9, 8],
  [12, 11, 10, 9],
  [13, 12, 11, 10],
  [13, 13, 12, 11],
];
