import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  aesCmac, decodeFrame, deriveSessionKeys10, encodeFrame, LoRaWANError, type DataFrameFields, type Frame, type FrameKeys,
} from '../src/index.js';
import { CHIRPSTACK_VECTORS as CS, CMAC_VECTORS, DATA_VECTORS, hex, join, JOIN_ACCEPT_VECTOR, JOIN_REQUEST_VECTOR, LP_KEYS, toHexStr } from './vectors.js';

type LoraPacket = (typeof import('lora-packet'))['default'];
const lp = createRequire(import.meta.url)('lora-packet') as LoraPacket;

const keys10: FrameKeys = { nwkSKey: hex(LP_KEYS.nwkSKey), appSKey: hex(LP_KEYS.appSKey) };

function data(f: Frame): Extract<Frame, { direction: 'up' | 'down' }> {
  if (!('direction' in f)) throw new Error(`expected a data frame, got ${f.type}`);
  return f;
}

describe('AES-CMAC (RFC 4493 vectors)', () => {
  for (const [i, c] of CMAC_VECTORS.cases.entries()) {
    it(`example ${i + 1} (${c.message.length / 2} bytes)`, () => {
      expect(toHexStr(aesCmac(hex(CMAC_VECTORS.key), hex(c.message)))).toBe(c.tag);
      // twice: the cached CBC state must not leak between calls
      expect(toHexStr(aesCmac(hex(CMAC_VECTORS.key), hex(c.message)))).toBe(c.tag);
    });
  }
});

describe('data-frame vectors', () => {
  for (const v of DATA_VECTORS) {
    const bytes = join(v.fields);
    it(`${v.name}: parse`, () => {
      const f = data(decodeFrame(bytes, keys10));
      expect(f.type).toBe(v.expect.type);
      expect(toHexStr(f.devAddr)).toBe(v.expect.devAddr);
      expect(f.fCnt16).toBe(v.expect.fCnt16);
      expect(f.fPort).toBe(v.expect.fPort);
      expect(f.fCtrl.adr).toBe(v.expect.fCtrl.adr);
      expect(f.fCtrl.ack).toBe(v.expect.fCtrl.ack);
      expect(toHexStr(f.mic)).toBe(v.expect.mic);
      expect(f.micStatus).toBe('valid');
      if (v.expect.payloadUtf8 !== undefined) expect(Buffer.from(f.payload ?? []).toString()).toBe(v.expect.payloadUtf8);
      if (v.expect.payloadHex !== undefined) expect(toHexStr(f.payload ?? new Uint8Array(1))).toBe(v.expect.payloadHex);
    });
    it(`${v.name}: generate and round-trip`, () => {
      const f = data(decodeFrame(bytes, keys10));
      const fields: DataFrameFields = {
        type: f.type, devAddr: f.devAddr, fCnt: f.fCnt, fCtrl: f.fCtrl, ...(f.fPort === undefined ? {} : { fPort: f.fPort }),
        ...(f.payload === undefined ? {} : { payload: f.payload }),
      };
      expect(toHexStr(encodeFrame(fields, keys10))).toBe(toHexStr(bytes));
    });
    it(`${v.name}: same result as lora-packet`, () => {
      const p = lp.fromWire(Buffer.from(bytes));
      expect(lp.verifyMIC(p, Buffer.from(keys10.nwkSKey!))).toBe(true);
      const f = data(decodeFrame(bytes, keys10));
      expect(toHexStr(f.payload!)).toBe(lp.decrypt(p, Buffer.from(keys10.appSKey!), Buffer.from(keys10.nwkSKey!)).toString('hex'));
    });
  }

  it('a bad MIC is a typed result, not an exception', () => {
    const bytes = hex('40F17DBE49000300012A3518AA'); // lora-packet test_mic.js: "aa not af"
    expect(data(decodeFrame(bytes, keys10)).micStatus).toBe('invalid');
    expect(data(decodeFrame(bytes)).micStatus).toBe('unchecked');
  });

  it('without keys the payload stays encrypted', () => {
    const f = data(decodeFrame(join(DATA_VECTORS[0]!.fields)));
    expect(f.payload).toBeUndefined();
    expect(toHexStr(f.frmPayload)).toBe('95437876');
  });
});

describe('join-request / join-accept vectors', () => {
  const appKey = hex(LP_KEYS.appKey);
  it('join-request: parse, MIC, generate', () => {
    const bytes = join(JOIN_REQUEST_VECTOR.fields);
    const f = decodeFrame(bytes, { appKey });
    if (f.type !== 'JoinRequest') throw new Error('type');
    expect(toHexStr(f.joinEUI)).toBe(JOIN_REQUEST_VECTOR.joinEUI);
    expect(toHexStr(f.devEUI)).toBe(JOIN_REQUEST_VECTOR.devEUI);
    expect(f.devNonce).toBe(JOIN_REQUEST_VECTOR.devNonce);
    expect(f.micStatus).toBe('valid');
    expect(toHexStr(encodeFrame({ type: 'JoinRequest', joinEUI: f.joinEUI, devEUI: f.devEUI, devNonce: f.devNonce }, { appKey }))).toBe(toHexStr(bytes));
    expect(lp.verifyMIC(lp.fromWire(Buffer.from(bytes)), undefined, Buffer.from(appKey))).toBe(true);
  });

  it('join-accept: encrypt, then decrypt and verify the spec MIC', () => {
    const v = JOIN_ACCEPT_VECTOR;
    const wire = encodeFrame({ type: 'JoinAccept', joinNonce: v.joinNonce, netId: v.netId, devAddr: hex(v.devAddr), rxDelay: 0 }, { appKey });
    expect(wire.length).toBe(17);
    // The network encrypts with aes128_decrypt: the ciphertext differs from the plaintext.
    expect(toHexStr(wire)).not.toBe(toHexStr(join(v.plaintext)));
    const f = decodeFrame(wire, { appKey });
    if (f.type !== 'JoinAccept') throw new Error('type');
    expect(f.micStatus).toBe('valid');
    expect(toHexStr(f.mic!)).toBe(v.mic);
    expect(f.fields).toMatchObject({ joinNonce: v.joinNonce, netId: v.netId, rxDelay: 0, cfList: undefined });
    expect(toHexStr(f.fields!.devAddr)).toBe(v.devAddr);
    // lora-packet decrypts the same bytes to the same plaintext
    expect(lp.decryptJoinAccept(lp.fromWire(Buffer.from(wire)), Buffer.from(appKey)).toString('hex')).toBe(toHexStr(join(v.plaintext)));
  });

  it('join-accept with CFList round-trips; without a key it stays encrypted', () => {
    const cfList = hex('184f84e85684b85e84886684586e8400');
    const wire = encodeFrame({ type: 'JoinAccept', joinNonce: 1, netId: 0x13, devAddr: hex('26011bda'), dlSettings: { rx1DrOffset: 1, rx2DataRate: 3 }, rxDelay: 5, cfList }, { appKey });
    const f = decodeFrame(wire, { appKey });
    if (f.type !== 'JoinAccept') throw new Error('type');
    expect(f.micStatus).toBe('valid');
    expect(f.fields!.dlSettings).toEqual({ optNeg: false, rx1DrOffset: 1, rx2DataRate: 3 });
    expect(toHexStr(f.fields!.cfList!)).toBe(toHexStr(cfList));
    const g = decodeFrame(wire);
    expect(g.type === 'JoinAccept' && g.fields === undefined && g.micStatus === 'unchecked').toBe(true);
  });

  it('session keys derived through lora-packet decrypt a frame encoded with them', () => {
    const k = deriveSessionKeys10(appKey, 0x000013, 0x000001, 0x8904);
    const phy = encodeFrame({ type: 'ConfirmedDataUp', devAddr: hex('26011bda'), fCnt: 1, fPort: 2, payload: hex('0102') }, k);
    expect(toHexStr(data(decodeFrame(phy, k)).payload!)).toBe('0102');
  });
});

describe('ChirpStack (brocaar/lorawan) vectors', () => {
  it('data uplink "hello": parse, MIC, decrypt, re-encode', () => {
    const bytes = join(CS.dataUp.fields);
    const k = { nwkSKey: hex(CS.dataUp.nwkSKey), appSKey: hex(CS.dataUp.appSKey) };
    const f = data(decodeFrame(bytes, k));
    expect(f).toMatchObject({ type: 'UnconfirmedDataUp', fCnt: 1, fPort: 1, micStatus: 'valid' });
    expect(f.fCtrl.adr).toBe(true);
    expect(toHexStr(f.devAddr)).toBe('01020304');
    expect(Buffer.from(f.payload!).toString()).toBe('hello');
    expect(toHexStr(encodeFrame({ type: f.type, devAddr: f.devAddr, fCnt: 1, fCtrl: { adr: true }, fPort: 1, payload: f.payload! }, k))).toBe(toHexStr(bytes));
  });
  it('join-request: parse and MIC', () => {
    const f = decodeFrame(join(CS.joinRequest.fields), { appKey: hex(CS.joinRequest.appKey) });
    if (f.type !== 'JoinRequest') throw new Error('type');
    expect([toHexStr(f.joinEUI), toHexStr(f.devEUI), f.devNonce, f.micStatus]).toEqual(['0102030401020304', '0203040502030405', 0x102d, 'valid']);
  });
  it('join-accept: decrypt and MIC', () => {
    const f = decodeFrame(hex(CS.joinAccept.wire), { appKey: hex(CS.joinAccept.appKey) });
    if (f.type !== 'JoinAccept') throw new Error('type');
    expect(f.micStatus).toBe('valid');
    expect(toHexStr(f.mic!)).toBe(CS.joinAccept.mic);
    expect(toHexStr(f.fields!.devAddr)).toBe(CS.joinAccept.devAddr);
    expect(f.fields).toMatchObject({ rxDelay: 0, dlSettings: { optNeg: false, rx1DrOffset: 0, rx2DataRate: 0 } });
    // the encoder reproduces the network's ciphertext
    const g = f.fields!;
    expect(toHexStr(encodeFrame({ type: 'JoinAccept', joinNonce: g.joinNonce, netId: g.netId, devAddr: g.devAddr, rxDelay: 0 }, { appKey: hex(CS.joinAccept.appKey) }))).toBe(CS.joinAccept.wire);
  });
  it('ExampleNewPHYPayload outputs are reproduced by encodeFrame', () => {
    const e = CS.exampleData;
    expect(toHexStr(encodeFrame({ type: 'ConfirmedDataUp', devAddr: hex('01020304'), fCnt: 0, fPort: 10, payload: hex('01020304') }, { nwkSKey: hex(e.nwkSKey), appSKey: hex(e.appSKey) }))).toBe(e.hex);
    const j = CS.exampleJoinRequest;
    expect(toHexStr(encodeFrame({ type: 'JoinRequest', joinEUI: hex('0101010101010101'), devEUI: hex('0202020202020202'), devNonce: 0x0303 }, { appKey: hex(j.appKey) }))).toBe(j.hex);
    const a = CS.exampleJoinAccept;
    expect(toHexStr(encodeFrame({ type: 'JoinAccept', joinNonce: 0x010101, netId: 0x020202, devAddr: hex('01020304'), rxDelay: 0 }, { appKey: hex(a.appKey) }))).toBe(a.hex);
  });
});

describe('MAC commands in frames', () => {
  it('FOpts (1.0, plaintext) are parsed in the uplink direction', () => {
    const phy = encodeFrame({ type: 'UnconfirmedDataUp', devAddr: hex('26011bda'), fCnt: 7, fOpts: [{ type: 'LinkCheckReq' }, { type: 'DevStatusAns', battery: 200, margin: -3 }] }, keys10);
    const f = data(decodeFrame(phy, keys10));
    expect(f.micStatus).toBe('valid');
    expect(f.macCommands).toEqual([{ type: 'LinkCheckReq' }, { type: 'DevStatusAns', battery: 200, margin: -3 }]);
    expect(f.fPort).toBeUndefined();
  });

  it('FPort 0 payload is decrypted with NwkSKey and parsed', () => {
    const payload = hex('0214030351070001');
    const phy = encodeFrame({ type: 'UnconfirmedDataDown', devAddr: hex('26011bda'), fCnt: 1, fPort: 0, payload }, keys10);
    const f = data(decodeFrame(phy, keys10));
    expect(f.macCommands).toEqual([
      { type: 'LinkCheckAns', margin: 20, gwCnt: 3 },
      { type: 'LinkADRReq', dataRate: 5, txPower: 1, chMask: 7, chMaskCntl: 0, nbTrans: 1 },
    ]);
    // lora-packet agrees on the FPort 0 decryption (it uses NwkSKey for port 0)
    expect(lp.decrypt(lp.fromWire(Buffer.from(phy)), Buffer.from(keys10.appSKey!), Buffer.from(keys10.nwkSKey!)).toString('hex')).toBe(toHexStr(payload));
  });

  it('an unknown CID keeps what was parsed before it', () => {
    const phy = encodeFrame({ type: 'UnconfirmedDataUp', devAddr: hex('26011bda'), fCnt: 7, fOpts: hex('0280aa') }, keys10);
    const f = data(decodeFrame(phy, keys10));
    expect(f.macCommands).toEqual([{ type: 'LinkCheckReq' }]);
    expect(f.macError?.code).toBe('UNKNOWN_CID');
    expect(f.macError?.offset).toBe(1);
  });
});

describe('frame counters in MIC and decryption', () => {
  it('a 32-bit counter needs lastFCnt to verify', () => {
    const fCnt = 0x0001_0005;
    const phy = encodeFrame({ type: 'UnconfirmedDataUp', devAddr: hex('26011bda'), fCnt, fPort: 1, payload: hex('abcd') }, keys10);
    expect(data(decodeFrame(phy, keys10)).micStatus).toBe('invalid');
    const f = data(decodeFrame(phy, keys10, { lastFCnt: 0x0000_fff0 }));
    expect(f.fCnt).toBe(fCnt);
    expect(f.micStatus).toBe('valid');
    expect(toHexStr(f.payload!)).toBe('abcd');
    // lora-packet: FCntMSBytes in wire order
    const p = lp.fromWire(Buffer.from(phy));
    expect(lp.verifyMIC(p, Buffer.from(keys10.nwkSKey!), undefined, Buffer.from([0x01, 0x00]))).toBe(true);
  });
});

describe('LoRaWAN 1.1', () => {
  const k11 = {
    version: '1.1' as const,
    fNwkSIntKey: hex('000102030405060708090a0b0c0d0e0f'),
    sNwkSIntKey: hex('101112131415161718191a1b1c1d1e1f'),
    nwkSEncKey: hex('202122232425262728292a2b2c2d2e2f'),
    appSKey: hex('303132333435363738393a3b3c3d3e3f'),
  };
  it('uplink MIC equals lora-packet (B0/B1, TxDr/TxCh) and FOpts are encrypted', () => {
    const phy = encodeFrame({ type: 'UnconfirmedDataUp', devAddr: hex('26011bda'), fCnt: 9, fOpts: [{ type: 'LinkCheckReq' }], fPort: 3, payload: hex('01020304') }, k11, { txDr: 5, txCh: 2 });
    const p = lp.fromWire(Buffer.from(phy));
    // lora-packet computes the B0 half with its first key argument and the B1 half with its second.
    const mic = lp.calculateMIC(p, Buffer.from(k11.fNwkSIntKey), Buffer.from(k11.sNwkSIntKey), undefined, Buffer.from([0, 0, 5, 2]));
    expect(toHexStr(phy.subarray(-4))).toBe(mic.toString('hex'));
    expect(toHexStr(phy.subarray(8, 9))).not.toBe('02'); // FOpts encrypted on the wire
    const f = data(decodeFrame(phy, k11, { txDr: 5, txCh: 2 }));
    expect(f.micStatus).toBe('valid');
    expect(f.macCommands).toEqual([{ type: 'LinkCheckReq' }]);
    expect(toHexStr(f.payload!)).toBe('01020304');
    expect(data(decodeFrame(phy, k11, { txDr: 4, txCh: 2 })).micStatus).toBe('invalid');
  });
  it('uplink with ACK: ConfFCnt enters B1 little-endian (B0/B1 built here from LoRaWAN 1.1 §4.4)', () => {
    const devAddr = hex('26011bda');
    const phy = encodeFrame({ type: 'ConfirmedDataUp', devAddr, fCnt: 0x10002, fCtrl: { ack: true }, fPort: 1, payload: hex('55') }, k11, { confFCnt: 0x1234, txDr: 3, txCh: 7 });
    const msg = phy.subarray(0, phy.length - 4);
    const block = (b1: number, b2: number, b3: number, b4: number): Uint8Array => {
      const b = new Uint8Array(16);
      b.set([0x49, b1, b2, b3, b4, 0x00, 0xda, 0x1b, 0x01, 0x26, 0x02, 0x00, 0x01, 0x00, 0x00, msg.length]);
      return b;
    };
    const cmacF = aesCmac(k11.fNwkSIntKey, Uint8Array.from([...block(0, 0, 0, 0), ...msg]));
    const cmacS = aesCmac(k11.sNwkSIntKey, Uint8Array.from([...block(0x34, 0x12, 3, 7), ...msg]));
    expect(toHexStr(phy.subarray(-4))).toBe(toHexStr(Uint8Array.of(cmacS[0]!, cmacS[1]!, cmacF[0]!, cmacF[1]!)));
    expect(data(decodeFrame(phy, k11, { confFCnt: 0x1234, txDr: 3, txCh: 7, lastFCnt: 0x10000 })).micStatus).toBe('valid');
    expect(data(decodeFrame(phy, k11, { confFCnt: 0x3412, txDr: 3, txCh: 7, lastFCnt: 0x10000 })).micStatus).toBe('invalid');
  });
  it('FOpts encryption equals lora-packet (errata A-block)', () => {
    const phy = encodeFrame({ type: 'UnconfirmedDataDown', devAddr: hex('26011bda'), fCnt: 4, fOpts: [{ type: 'LinkCheckAns', margin: 7, gwCnt: 1 }], fPort: 1, payload: hex('aa') }, k11);
    const p = lp.fromWire(Buffer.from(phy));
    expect(lp.verifyMIC(p, undefined, Buffer.from(k11.sNwkSIntKey), undefined, Buffer.from([0, 0]))).toBe(true);
    expect(p.decryptFOpts(Buffer.from(k11.nwkSEncKey)).toString('hex')).toBe('020701');
    expect(data(decodeFrame(phy, k11)).micStatus).toBe('valid');
  });
  it('rejoin-request types 0 and 1 round-trip with valid MICs', () => {
    const devEUI = hex('0102030405060708');
    const r0 = encodeFrame({ type: 'RejoinRequest', rejoinType: 0, netId: 0x13, devEUI, rjCount: 5 }, { sNwkSIntKey: k11.sNwkSIntKey });
    const f0 = decodeFrame(r0, { sNwkSIntKey: k11.sNwkSIntKey });
    expect(f0).toMatchObject({ type: 'RejoinRequest', rejoinType: 0, netId: 0x13, rjCount: 5, micStatus: 'valid' });
    const r1 = encodeFrame({ type: 'RejoinRequest', rejoinType: 1, joinEUI: devEUI, devEUI, rjCount: 6 }, { jsIntKey: k11.fNwkSIntKey });
    expect(decodeFrame(r1, { jsIntKey: k11.fNwkSIntKey })).toMatchObject({ type: 'RejoinRequest', rejoinType: 1, rjCount: 6, micStatus: 'valid' });
    expect(lp.verifyMIC(lp.fromWire(Buffer.from(r0)), Buffer.from(k11.sNwkSIntKey))).toBe(true);
  });
});

describe('decoder errors', () => {
  const cases: readonly [string, string, string][] = [
    ['', 'TRUNCATED', 'empty'],
    ['40f17dbe4900', 'TRUNCATED', 'data frame shorter than MHDR+FHDR+MIC'],
    ['41f17dbe4900020001954378762b11ff0d', 'MALFORMED', 'Major 1'],
    ['40f17dbe490f020001954378762b11ff0d', 'MALFORMED', 'FOptsLen 15 past the MIC'],
    ['40f17dbe490102000200954378762b11ff0d', 'MALFORMED', 'FOpts with FPort 0'],
    ['0039363463336913aa05693574323831330489c65b13', 'TRUNCATED', 'join-request 22 bytes'],
    ['20386337ccbbaae7cd2c010000d9d0a6', 'TRUNCATED', 'join-accept 16 bytes'],
    ['c003', 'MALFORMED', 'rejoin type 3'],
  ];
  for (const [h, code, what] of cases) {
    it(`${what} → ${code}`, () => {
      try {
        decodeFrame(hex(h), keys10);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(LoRaWANError);
        expect((err as LoRaWANError).code).toBe(code);
      }
    });
  }
  it('proprietary frames are passed through', () => {
    expect(decodeFrame(hex('e0010203'))).toEqual({ type: 'Proprietary', payload: hex('010203') });
    expect(toHexStr(encodeFrame({ type: 'Proprietary', payload: hex('010203') }, {}))).toBe('e0010203');
  });
  it('encoding without the needed key is MISSING_KEY; bad lengths are RangeError with the field name', () => {
    expect(() => encodeFrame({ type: 'UnconfirmedDataUp', devAddr: hex('26011bda'), fCnt: 1 }, {})).toThrow(expect.objectContaining({ code: 'MISSING_KEY' }));
    expect(() => encodeFrame({ type: 'UnconfirmedDataUp', devAddr: hex('26011b'), fCnt: 1 }, keys10)).toThrow(new RangeError('devAddr: expected 4 bytes, got 3'));
  });
});

describe('fuzz', () => {
  const keySets: FrameKeys[] = [{}, keys10, { appKey: hex(LP_KEYS.appKey) }, { version: '1.1', fNwkSIntKey: keys10.nwkSKey!, sNwkSIntKey: keys10.nwkSKey!, nwkSEncKey: keys10.appSKey!, appSKey: keys10.appSKey!, jsIntKey: keys10.nwkSKey! }];
  it('random bytes: only LoRaWANError escapes, and the decoder still works afterwards', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(3), fc.option(fc.nat(0xffffffff)), (bytes, ki, last) => {
      try {
        decodeFrame(bytes, keySets[ki]!, last === null ? {} : { lastFCnt: last });
      } catch (err) {
        if (!(err instanceof LoRaWANError)) throw err;
        expect(['TRUNCATED', 'MALFORMED']).toContain(err.code);
      }
    }), { numRuns: 5000 });
    expect(data(decodeFrame(join(DATA_VECTORS[0]!.fields), keys10)).micStatus).toBe('valid');
  });
  it('mutated valid frames: only LoRaWANError escapes; unmodified MIC region flips to invalid', () => {
    const base = join(DATA_VECTORS[3]!.fields);
    fc.assert(fc.property(fc.nat(base.length - 1), fc.integer({ min: 1, max: 255 }), (pos, x) => {
      const b = Uint8Array.from(base);
      b[pos] = (b[pos] as number) ^ x;
      try {
        const f = decodeFrame(b, keys10);
        if ('micStatus' in f && 'direction' in f) expect(f.micStatus).toBe('invalid');
      } catch (err) {
        if (!(err instanceof LoRaWANError)) throw err;
      }
    }), { numRuns: 2000 });
    expect(data(decodeFrame(base, keys10)).micStatus).toBe('valid');
  });
  it('encode → decode round-trips for random data frames', () => {
    const type = fc.constantFrom('UnconfirmedDataUp', 'UnconfirmedDataDown', 'ConfirmedDataUp', 'ConfirmedDataDown') as fc.Arbitrary<DataFrameFields['type']>;
    fc.assert(fc.property(type, fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.nat(0xffffffff), fc.integer({ min: 1, max: 223 }), fc.uint8Array({ maxLength: 200 }), fc.boolean(), (t, devAddr, fCnt, fPort, payload, adr) => {
      const phy = encodeFrame({ type: t, devAddr, fCnt, fPort, payload, fCtrl: { adr } }, keys10);
      const f = data(decodeFrame(phy, keys10, { lastFCnt: fCnt - (fCnt % 0x10000) }));
      expect(f.micStatus).toBe('valid');
      expect(f.fCnt).toBe(fCnt);
      expect(toHexStr(f.payload!)).toBe(toHexStr(payload));
      expect(toHexStr(f.devAddr)).toBe(toHexStr(devAddr));
      expect(f.fCtrl.adr).toBe(adr);
    }), { numRuns: 500 });
  });
});
