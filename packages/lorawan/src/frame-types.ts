// The types of the PHYPayload codec (LoRaWAN L2 1.0.4 §4, LoRaWAN 1.1 §4/§6): decoded frames, the
// fields to encode, keys and options. The codec itself is in frame.ts (decode) and frame-encode.ts.
import type { LoRaWANError } from './errors.js';
import type { MacCommand } from './mac-commands.js';

/** Message types (MHDR.MType, LoRaWAN L2 1.0.4 §4.2.1). */
export type MType =
  | 'JoinRequest' | 'JoinAccept'
  | 'UnconfirmedDataUp' | 'UnconfirmedDataDown'
  | 'ConfirmedDataUp' | 'ConfirmedDataDown'
  | 'RejoinRequest' | 'Proprietary';

export const MTYPES: readonly MType[] = ['JoinRequest', 'JoinAccept', 'UnconfirmedDataUp', 'UnconfirmedDataDown', 'ConfirmedDataUp', 'ConfirmedDataDown', 'RejoinRequest', 'Proprietary'];

/** Result of the MIC check: `'unchecked'` when the needed key was not given. */
export type MicStatus = 'valid' | 'invalid' | 'unchecked';

/** LoRaWAN version of a session: selects MIC and FOpts rules. */
export type LoRaWANVersion = '1.0' | '1.1';

/**
 * Session and root keys (16 bytes each). Give the ones you have; checks that need a missing key
 * are reported `'unchecked'` and payloads stay encrypted.
 */
export interface FrameKeys {
  /** Default `'1.0'` (1.0.x rules; also 1.1 devices that negotiated 1.0). */
  readonly version?: LoRaWANVersion;
  /** 1.0: network session key (MIC; FPort 0 payload). */
  readonly nwkSKey?: Uint8Array;
  /** Application session key (FRMPayload on FPort > 0). */
  readonly appSKey?: Uint8Array;
  /** 1.1: forwarding network session integrity key (uplink MIC, low half). */
  readonly fNwkSIntKey?: Uint8Array;
  /** 1.1: serving network session integrity key (uplink MIC high half, downlink MIC, rejoin 0/2). */
  readonly sNwkSIntKey?: Uint8Array;
  /** 1.1: network session encryption key (FOpts, FPort 0 payload). */
  readonly nwkSEncKey?: Uint8Array;
  /** 1.0 root key: join-request MIC, join-accept encryption and MIC. */
  readonly appKey?: Uint8Array;
  /** 1.1 root key: join-request MIC, join-accept encryption. */
  readonly nwkKey?: Uint8Array;
  /** 1.1: join-server integrity key (join-accept MIC with OptNeg, rejoin type 1). */
  readonly jsIntKey?: Uint8Array;
}

/** Frame-level options of {@link decodeFrame} / {@link encodeFrame}. */
export interface FrameOptions {
  /** Last accepted 32-bit counter of this direction, to reconstruct FCnt from its 16 bits. */
  readonly lastFCnt?: number;
  /** 1.1 uplink MIC: frame counter of the confirmed downlink being acknowledged (when ACK is set). Default 0. */
  readonly confFCnt?: number;
  /** 1.1 uplink MIC: data rate of the uplink. Default 0. */
  readonly txDr?: number;
  /** 1.1 uplink MIC: channel index of the uplink. Default 0. */
  readonly txCh?: number;
  /** 1.1 join-accept with OptNeg: JoinReqType (0xff join-request, 0/1/2 rejoin type). Default 0xff. */
  readonly joinReqType?: number;
  /** 1.1 join-accept with OptNeg: JoinEUI of the request (MSB first). */
  readonly joinEUI?: Uint8Array;
  /** 1.1 join-accept with OptNeg: DevNonce of the request. */
  readonly devNonce?: number;
}

/** FCtrl bits. `adrAckReq` and `classB` are uplink-only; `fPending` is downlink-only. */
export interface FCtrl {
  readonly adr: boolean;
  readonly adrAckReq: boolean;
  readonly ack: boolean;
  readonly fPending: boolean;
  readonly classB: boolean;
}

/** A decoded data frame (confirmed/unconfirmed, up/down). */
export interface DataFrame {
  readonly type: 'UnconfirmedDataUp' | 'UnconfirmedDataDown' | 'ConfirmedDataUp' | 'ConfirmedDataDown';
  readonly direction: 'up' | 'down';
  readonly confirmed: boolean;
  /** 4 bytes, MSB first (as printed: `26011bda`). */
  readonly devAddr: Uint8Array;
  readonly fCtrl: FCtrl;
  /** The 16-bit counter on the wire. */
  readonly fCnt16: number;
  /** The 32-bit counter reconstructed with `options.lastFCnt` (equal to `fCnt16` without it). */
  readonly fCnt: number;
  /** FOpts as on the wire (encrypted in 1.1). */
  readonly fOpts: Uint8Array;
  readonly fPort: number | undefined;
  /** FRMPayload as on the wire (encrypted). */
  readonly frmPayload: Uint8Array;
  /** Decrypted FRMPayload, when the needed key was given. */
  readonly payload: Uint8Array | undefined;
  /** MAC commands from FOpts, or from the FPort 0 payload once decrypted. */
  readonly macCommands: readonly MacCommand[];
  /** Set when MAC command parsing stopped (`UNKNOWN_CID`, `TRUNCATED`); `macCommands` keeps what was parsed. */
  readonly macError: LoRaWANError | undefined;
  readonly mic: Uint8Array;
  readonly micStatus: MicStatus;
}

/** DLSettings of a join-accept. */
export interface DLSettings {
  readonly optNeg: boolean;
  readonly rx1DrOffset: number;
  readonly rx2DataRate: number;
}

/** Decrypted join-accept fields. */
export interface JoinAcceptFields {
  readonly joinNonce: number;
  readonly netId: number;
  /** 4 bytes, MSB first. */
  readonly devAddr: Uint8Array;
  readonly dlSettings: DLSettings;
  /** RxDelay.Del in seconds, raw (0 and 1 both mean 1 s). */
  readonly rxDelay: number;
  /** 16-byte CFList, when present. */
  readonly cfList: Uint8Array | undefined;
}

/** A decoded join-accept; `fields` is undefined when no key was given to decrypt it. */
export interface JoinAcceptFrame {
  readonly type: 'JoinAccept';
  readonly encrypted: Uint8Array;
  readonly fields: JoinAcceptFields | undefined;
  readonly mic: Uint8Array | undefined;
  readonly micStatus: MicStatus;
}

/** A decoded join-request. EUIs are MSB first. */
export interface JoinRequestFrame {
  readonly type: 'JoinRequest';
  readonly joinEUI: Uint8Array;
  readonly devEUI: Uint8Array;
  readonly devNonce: number;
  readonly mic: Uint8Array;
  readonly micStatus: MicStatus;
}

/** A decoded rejoin-request (LoRaWAN 1.1 §6.2.4). Type 0/2 carry `netId`, type 1 `joinEUI`. */
export interface RejoinRequestFrame {
  readonly type: 'RejoinRequest';
  readonly rejoinType: 0 | 1 | 2;
  readonly netId: number | undefined;
  readonly joinEUI: Uint8Array | undefined;
  readonly devEUI: Uint8Array;
  /** RJcount0 (types 0/2) or RJcount1 (type 1). */
  readonly rjCount: number;
  readonly mic: Uint8Array;
  readonly micStatus: MicStatus;
}

/** A proprietary frame: everything after the MHDR, uninterpreted. */
export interface ProprietaryFrame {
  readonly type: 'Proprietary';
  readonly payload: Uint8Array;
}

/** Any decoded PHYPayload, discriminated by `type` (the MType). */
export type Frame = DataFrame | JoinRequestFrame | JoinAcceptFrame | RejoinRequestFrame | ProprietaryFrame;

// ---------------------------------------------------------------------------------------------
// Fields to encode

/** Fields of a data frame to encode. */
export interface DataFrameFields {
  readonly type: DataFrame['type'];
  /** 4 bytes, MSB first. */
  readonly devAddr: Uint8Array;
  /** 32-bit frame counter (the low 16 bits go on the wire; all 32 enter MIC and encryption). */
  readonly fCnt: number;
  readonly fCtrl?: Partial<FCtrl>;
  /** FOpts as raw bytes or MAC commands (≤ 15 bytes). Encrypted with NwkSEncKey in 1.1. */
  readonly fOpts?: Uint8Array | readonly MacCommand[];
  /** 0 … 255; required when `payload` is given. */
  readonly fPort?: number;
  /** Plaintext FRMPayload (MAC commands as bytes on FPort 0). */
  readonly payload?: Uint8Array;
}

/** Fields of a join-request. */
export interface JoinRequestFields {
  readonly type: 'JoinRequest';
  readonly joinEUI: Uint8Array;
  readonly devEUI: Uint8Array;
  readonly devNonce: number;
}

/** Fields of a join-accept (LoRaWAN 1.0.x MIC; OptNeg is not supported for encoding). */
export interface JoinAcceptEncodeFields {
  readonly type: 'JoinAccept';
  readonly joinNonce: number;
  readonly netId: number;
  readonly devAddr: Uint8Array;
  readonly dlSettings?: Partial<DLSettings>;
  /** RxDelay.Del in seconds, 0 … 15 (0 means 1 s). Default 1. */
  readonly rxDelay?: number;
  readonly cfList?: Uint8Array;
}

/** Fields of a rejoin-request. */
export interface RejoinRequestFields {
  readonly type: 'RejoinRequest';
  readonly rejoinType: 0 | 1 | 2;
  /** Types 0 and 2. */
  readonly netId?: number;
  /** Type 1. */
  readonly joinEUI?: Uint8Array;
  readonly devEUI: Uint8Array;
  readonly rjCount: number;
}

/** Fields of a proprietary frame. */
export interface ProprietaryFields {
  readonly type: 'Proprietary';
  readonly payload: Uint8Array;
}

/** Input of {@link encodeFrame}. */
export type FrameFields = DataFrameFields | JoinRequestFields | JoinAcceptEncodeFields | RejoinRequestFields | ProprietaryFields;
