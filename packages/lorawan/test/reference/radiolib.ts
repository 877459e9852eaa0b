// Region tables transcribed from RadioLib's LoRaWAN band definitions, a second implementation that
// follows RP002-1.0.4 (it has AS923-2/-3/-4 and LR-FHSS data rates, which LoRaMac-node's headers
// above do not): github.com/confestim/RadioLib (a fork of jgromes/RadioLib),
// src/protocols/LoRaWAN/LoRaWANBands.cpp at commit b506ba6c39e19c597a3d186dd3d0396513c403af.
// Values as the file states them: payloadLenMax = N per DR (0 = none), txFreqs in Hz (the file
// uses units of 100 Hz), rx2 as [Hz, dr], rx1DrTable rows per uplink DR (15 = 0x0F, not defined),
// dataRates as [SF, bandwidth kHz] (-1 = FSK, -2 = LR-FHSS, 0 = none).
// The file has no RU864 or CN779 band.

export interface RadioLibBand {
  readonly payloadLenMax: readonly number[];
  readonly powerMax: number;
  readonly powerNumSteps: number;
  readonly txParamSupported: boolean;
  readonly txFreqs: readonly (readonly [number, number, number])[];
  readonly rx2: readonly [number, number];
  readonly rx1DrTable: readonly (readonly number[])[];
  readonly dataRates: readonly (readonly [number, number])[];
}

const X = 15;
const NONE: readonly number[] = [X, X, X, X, X, X, X, X];
const EU_RX1: readonly (readonly number[])[] = [
  [0, 0, 0, 0, 0, 0, X, X],
  [1, 0, 0, 0, 0, 0, X, X],
  [2, 1, 0, 0, 0, 0, X, X],
  [3, 2, 1, 0, 0, 0, X, X],
  [4, 3, 2, 1, 0, 0, X, X],
  [5, 4, 3, 2, 1, 0, X, X],
  [6, 5, 4, 3, 2, 1, X, X],
  [7, 6, 5, 4, 3, 2, X, X],
];
const AS923_RX1: readonly (readonly number[])[] = [
  [0, 0, 0, 0, 0, 0, 1, 2],
  [1, 0, 0, 0, 0, 0, 2, 3],
  [2, 1, 0, 0, 0, 0, 3, 4],
  [3, 2, 1, 0, 0, 0, 4, 5],
  [4, 3, 2, 1, 0, 0, 5, 6],
  [5, 4, 3, 2, 1, 0, 6, 7],
  [6, 5, 4, 3, 2, 1, 7, 7],
  [7, 6, 5, 4, 3, 2, 7, 7],
];
const EU_DR: readonly (readonly [number, number])[] = [[12, 125], [11, 125], [10, 125], [9, 125], [8, 125], [7, 125], [7, 250], [-1, 0]];

export const RL_EU433: RadioLibBand = {
  payloadLenMax: [51, 51, 51, 115, 242, 242, 242, 242],
  powerMax: 12, powerNumSteps: 5, txParamSupported: false,
  txFreqs: [[433_175_000, 0, 5]], // this fork lists only the first default channel
  rx2: [434_665_000, 0],
  rx1DrTable: EU_RX1,
  dataRates: EU_DR,
};

export const RL_AU915: RadioLibBand = {
  payloadLenMax: [51, 51, 51, 115, 242, 242, 242, 50, 53, 129, 242, 242, 242, 242],
  powerMax: 30, powerNumSteps: 10, txParamSupported: true,
  txFreqs: [], // txSpans: 64 × 915.2 MHz + n·200 kHz (DR0–5), 8 × 915.9 MHz + n·1.6 MHz (DR6)
  rx2: [923_300_000, 8],
  rx1DrTable: [
    [8, 8, 8, 8, 8, 8, X, X],
    [9, 8, 8, 8, 8, 8, X, X],
    [10, 9, 8, 8, 8, 8, X, X],
    [11, 10, 9, 8, 8, 8, X, X],
    [12, 11, 10, 9, 8, 8, X, X],
    [13, 12, 11, 10, 9, 8, X, X],
    [13, 13, 12, 11, 10, 9, X, X],
    [9, 8, 8, 8, 8, 8, X, X], // DR7 LR-FHSS
  ],
  dataRates: [
    [12, 125], [11, 125], [10, 125], [9, 125], [8, 125], [7, 125], [8, 500], [-2, 0],
    [12, 500], [11, 500], [10, 500], [9, 500], [8, 500], [7, 500],
  ],
};

/** AU915 spans (txSpans / rx1Span of the same file). */
export const RL_AU915_SPANS = {
  up125: { count: 64, startHz: 915_200_000, stepHz: 200_000, minDr: 0, maxDr: 5 },
  up500: { count: 8, startHz: 915_900_000, stepHz: 1_600_000, minDr: 6, maxDr: 6 },
  rx1: { count: 8, startHz: 923_300_000, stepHz: 600_000 },
} as const;

const as923 = (ch0: number, ch1: number): RadioLibBand => ({
  payloadLenMax: [51, 51, 115, 115, 242, 242, 242, 242],
  powerMax: 16, powerNumSteps: 7, txParamSupported: true,
  txFreqs: [[ch0, 0, 5], [ch1, 0, 5]],
  rx2: [ch0, 2],
  rx1DrTable: AS923_RX1,
  dataRates: EU_DR,
});
export const RL_AS923 = as923(923_200_000, 923_400_000);
export const RL_AS923_2 = as923(921_400_000, 921_600_000);
export const RL_AS923_3 = as923(916_600_000, 916_800_000);
export const RL_AS923_4 = as923(917_300_000, 917_500_000);

export const RL_KR920: RadioLibBand = {
  payloadLenMax: [51, 51, 51, 115, 242, 242],
  powerMax: 14, powerNumSteps: 7, txParamSupported: false,
  txFreqs: [[922_100_000, 0, 5], [922_300_000, 0, 5], [922_500_000, 0, 5]],
  rx2: [921_900_000, 0],
  rx1DrTable: EU_RX1.slice(0, 6).map((r) => [...r.slice(0, 6), X, X]),
  dataRates: [[12, 125], [11, 125], [10, 125], [9, 125], [8, 125], [7, 125]],
};

export const RL_IN865: RadioLibBand = {
  payloadLenMax: [51, 51, 51, 115, 242, 242, 0, 242],
  powerMax: 30, powerNumSteps: 10, txParamSupported: false,
  txFreqs: [[865_062_500, 0, 5], [865_402_500, 0, 5], [865_985_000, 0, 5]],
  rx2: [866_550_000, 2],
  rx1DrTable: [
    [0, 0, 0, 0, 0, 0, 1, 2],
    [1, 0, 0, 0, 0, 0, 2, 3],
    [2, 1, 0, 0, 0, 0, 3, 4],
    [3, 2, 1, 0, 0, 0, 4, 5],
    [4, 3, 2, 1, 0, 0, 5, 5],
    [5, 4, 3, 2, 1, 0, 5, 7],
    NONE,
    [7, 6, 5, 4, 3, 2, 7, 7],
  ],
  dataRates: [[12, 125], [11, 125], [10, 125], [9, 125], [8, 125], [7, 125], [0, 0], [-1, 0]],
};

export const RL_EU868: RadioLibBand = {
  payloadLenMax: [51, 51, 51, 115, 242, 242, 242, 242, 50, 115, 50, 115], // DR8–11 LR-FHSS
  powerMax: 16, powerNumSteps: 7, txParamSupported: false,
  txFreqs: [[868_100_000, 0, 5], [868_300_000, 0, 5], [868_500_000, 0, 5]],
  rx2: [869_525_000, 0],
  rx1DrTable: EU_RX1,
  dataRates: [...EU_DR, [-2, 0], [-2, 0], [-2, 0], [-2, 0]],
};

export const RL_US915: RadioLibBand = {
  payloadLenMax: [11, 53, 125, 242, 242, 50, 125, 0, 53, 129, 242, 242, 242, 242], // DR5–6 LR-FHSS
  powerMax: 30, powerNumSteps: 14, txParamSupported: false,
  txFreqs: [], // txSpans: 64 × 902.3 MHz + n·200 kHz (DR0–3), 8 × 903.0 MHz + n·1.6 MHz (DR4)
  rx2: [923_300_000, 8],
  rx1DrTable: [[10, 9, 8, 8, X, X, X, X], [11, 10, 9, 8, X, X, X, X], [12, 11, 10, 9, X, X, X, X], [13, 12, 11, 10, X, X, X, X], [13, 13, 12, 11, X, X, X, X]],
  dataRates: [
    [10, 125], [9, 125], [8, 125], [7, 125], [8, 500], [-2, 0], [-2, 0], [0, 0],
    [12, 500], [11, 500], [10, 500], [9, 500], [8, 500], [7, 500],
  ],
};

/** US915 spans (txSpans / rx1Span of the same file). */
export const RL_US915_SPANS = {
  up125: { count: 64, startHz: 902_300_000, stepHz: 200_000, minDr: 0, maxDr: 3 },
  up500: { count: 8, startHz: 903_000_000, stepHz: 1_600_000, minDr: 4, maxDr: 4 },
  rx1: { count: 8, startHz: 923_300_000, stepHz: 600_000 },
} as const;
