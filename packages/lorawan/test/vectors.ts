// Test vectors with their sources. Bytes are annotated field by field; hex is as on the wire.

/** RFC 4493 §4 AES-CMAC test vectors (key 2b7e1516…). */
export const CMAC_VECTORS = {
  source: 'RFC 4493 §4 (Examples 1–4)',
  key: '2b7e151628aed2a6abf7158809cf4f3c',
  cases: [
    { message: '', tag: 'bb1d6929e95937287fa37d129b756746' },
    { message: '6bc1bee22e409f96e93d7e117393172a', tag: '070a16b46b4d4144f79bdd9dd04a287c' },
    { message: '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411', tag: 'dfa66747de9ae63030ca32611497c827' },
    {
      message: '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710',
      tag: '51f0bebf7e3b9d92fc49741779363cfe',
    },
  ],
} as const;

/** Keys of the lora-packet test suite (github.com/anthonykirby/lora-packet, test/test_mic.js, test_decrypt.js). */
export const LP_KEYS = {
  nwkSKey: '44024241ed4ce9a68c6a8bc055233fd3',
  appSKey: 'ec925802ae430ca77fd3dd73cb2cc588',
  appKey: '98929b92c49edba9676d646d3b612456',
} as const;

/** One data-frame vector. */
export interface DataVector {
  readonly name: string;
  readonly source: string;
  /** Wire bytes split by field, concatenated for the test. */
  readonly fields: readonly (readonly [hex: string, note: string])[];
  readonly expect: {
    readonly type: string;
    readonly devAddr: string;
    readonly fCnt16: number;
    readonly fPort: number | undefined;
    readonly fCtrl: { adr: boolean; ack: boolean };
    readonly payloadUtf8?: string;
    readonly payloadHex?: string;
    readonly mic: string;
  };
}

export const DATA_VECTORS: readonly DataVector[] = [
  {
    name: 'unconfirmed uplink "test"',
    source: 'lora-packet README and test/test_decrypt.js ("should decrypt test payload")',
    fields: [
      ['40', 'MHDR: MType 010 (UnconfirmedDataUp), RFU 000, Major 00'],
      ['f17dbe49', 'DevAddr 49be7df1 (little-endian)'],
      ['00', 'FCtrl: ADR 0, ADRACKReq 0, ACK 0, ClassB 0, FOptsLen 0'],
      ['0200', 'FCnt 2 (little-endian)'],
      ['01', 'FPort 1'],
      ['95437876', 'FRMPayload, AES-encrypted with AppSKey: "test"'],
      ['2b11ff0d', 'MIC = cmac(NwkSKey, B0 | msg)[0..3]'],
    ],
    expect: { type: 'UnconfirmedDataUp', devAddr: '49be7df1', fCnt16: 2, fPort: 1, fCtrl: { adr: false, ack: false }, payloadUtf8: 'test', mic: '2b11ff0d' },
  },
  {
    name: 'unconfirmed uplink, FPort 1, empty FRMPayload',
    source: 'lora-packet test/test_mic.js ("should calculate & verify correct data packet MIC", 2nd)',
    fields: [
      ['40', 'MHDR: UnconfirmedDataUp'],
      ['f17dbe49', 'DevAddr 49be7df1'],
      ['00', 'FCtrl: no flags, FOptsLen 0'],
      ['0300', 'FCnt 3'],
      ['01', 'FPort 1'],
      ['2a3518af', 'MIC'],
    ],
    expect: { type: 'UnconfirmedDataUp', devAddr: '49be7df1', fCnt16: 3, fPort: 1, fCtrl: { adr: false, ack: false }, payloadHex: '', mic: '2a3518af' },
  },
  {
    name: 'unconfirmed downlink with ACK',
    source: 'lora-packet test/test_mic.js ("MIC for ACK")',
    fields: [
      ['60', 'MHDR: MType 011 (UnconfirmedDataDown)'],
      ['f17dbe49', 'DevAddr 49be7df1'],
      ['20', 'FCtrl: ACK 1, FOptsLen 0'],
      ['0200', 'FCnt 2'],
      ['01', 'FPort 1'],
      ['f9d65d27', 'MIC (Dir = 1 in B0)'],
    ],
    expect: { type: 'UnconfirmedDataDown', devAddr: '49be7df1', fCnt16: 2, fPort: 1, fCtrl: { adr: false, ack: true }, payloadHex: '', mic: 'f9d65d27' },
  },
  {
    name: 'unconfirmed uplink, 44-byte payload (3 keystream blocks)',
    source: 'lora-packet test/test_decrypt.js ("should decrypt large payload")',
    fields: [
      ['40', 'MHDR: UnconfirmedDataUp'],
      ['f17dbe49', 'DevAddr 49be7df1'],
      ['00', 'FCtrl'],
      ['0400', 'FCnt 4'],
      ['01', 'FPort 1'],
      ['55332de41a11adc072553544429ce7787707d1c316e027e7e5e334263376affb8aa17ad30075293f28dea8a2', 'FRMPayload (44 bytes)'],
      ['0af3c5e7', 'MIC'],
    ],
    expect: { type: 'UnconfirmedDataUp', devAddr: '49be7df1', fCnt16: 4, fPort: 1, fCtrl: { adr: false, ack: false }, payloadUtf8: 'The quick brown fox jumps over the lazy dog.', mic: '0af3c5e7' },
  },
];

/** Join-request vector. */
export const JOIN_REQUEST_VECTOR = {
  source: 'lora-packet test/test_mic.js ("join request packet MIC")',
  fields: [
    ['00', 'MHDR: MType 000 (JoinRequest)'],
    ['39363463336913aa', 'JoinEUI (AppEUI) aa13693363343639, little-endian'],
    ['0569357432383133', 'DevEUI 3331383274356905, little-endian'],
    ['0489', 'DevNonce 0x8904'],
    ['c65b1304', 'MIC = cmac(AppKey, MHDR | JoinEUI | DevEUI | DevNonce)[0..3]'],
  ],
  joinEUI: 'aa13693363343639',
  devEUI: '3331383274356905',
  devNonce: 0x8904,
  mic: 'c65b1304',
} as const;

/** Join-accept plaintext vector (the MIC is over the plaintext; the wire form is encrypted). */
export const JOIN_ACCEPT_VECTOR = {
  source: 'lora-packet test/test_mic.js ("join accept packet MIC", plaintext form)',
  plaintext: [
    ['20', 'MHDR: MType 001 (JoinAccept)'],
    ['386337', 'JoinNonce (AppNonce) 0x376338'],
    ['ccbbaa', 'NetID 0xaabbcc'],
    ['e7cd2c01', 'DevAddr 012ccde7'],
    ['00', 'DLSettings: OptNeg 0, RX1DROffset 0, RX2DataRate 0'],
    ['00', 'RxDelay 0 (= 1 s)'],
    ['d9d0a6e7', 'MIC = cmac(AppKey, MHDR | … | RxDelay)[0..3]'],
  ],
  joinNonce: 0x376338,
  netId: 0xaabbcc,
  devAddr: '012ccde7',
  mic: 'd9d0a6e7',
} as const;

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
export const toHexStr = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const join = (fields: readonly (readonly [string, string])[]): Uint8Array => hex(fields.map((f) => f[0]).join(''));

/**
 * Vectors from brocaar/lorawan (the Go LoRaWAN library behind ChirpStack), phypayload_test.go:
 * TestPHYPayloadData, TestPHYPayloadJoinRequest, TestPHYPayloadJoinAccept and the
 * ExampleNewPHYPayload* outputs.
 */
export const CHIRPSTACK_VECTORS = {
  source: 'github.com/brocaar/lorawan phypayload_test.go',
  dataUp: {
    fields: [
      ['40', 'MHDR: UnconfirmedDataUp'],
      ['04030201', 'DevAddr 01020304'],
      ['80', 'FCtrl: ADR 1, FOptsLen 0'],
      ['0100', 'FCnt 1'],
      ['01', 'FPort 1'],
      ['a694642615', 'FRMPayload "hello" encrypted with AppSKey 01…01'],
      ['d6c3b582', 'MIC with NwkSKey 02…02'],
    ],
    nwkSKey: '02020202020202020202020202020202',
    appSKey: '01010101010101010101010101010101',
  },
  joinRequest: {
    fields: [
      ['00', 'MHDR: JoinRequest'],
      ['0403020104030201', 'AppEUI 0102030401020304'],
      ['0504030205040302', 'DevEUI 0203040502030405'],
      ['2d10', 'DevNonce 0x102d'],
      ['6a990e12', 'MIC with AppKey 01…01'],
    ],
    appKey: '01010101010101010101010101010101',
  },
  joinAccept: {
    wire: '20493eeb51fba2116f810edb3742975142',
    appKey: '00112233445566778899aabbccddeeff',
    devAddr: '02031980',
    mic: '43485bbc', // [67 72 91 188]
  },
  /** ExampleNewPHYPayload: ConfirmedDataUp, DevAddr 01020304, FCnt 0, FPort 10, payload 01020304. */
  exampleData: { hex: '80040302010000000ae264d4f7b56a0e75', nwkSKey: '0102030405060708090a0b0c0d0e0f10', appSKey: '100f0e0d0c0b0a090807060504030201' },
  /** ExampleNewPHYPayload_joinRequest: AppEUI 01…, DevEUI 02…, DevNonce bytes 03 03, AppKey 01…10. */
  exampleJoinRequest: { hex: '0001010101010101010202020202020202030309b97b32', appKey: '0102030405060708090a0b0c0d0e0f10' },
  /** ExampleNewPHYPayload_joinAcceptSend: AppNonce 01 01 01, NetID 02 02 02, DevAddr 01020304, AppKey 01…10. */
  exampleJoinAccept: { hex: '2023cf335489aae3183c0be0baa8dee5f3', appKey: '0102030405060708090a0b0c0d0e0f10' },
} as const;
