/**
 * {@include ../README.md#site}
 *
 * @packageDocumentation
 * @module @outpost/lorawan
 */

// Errors
export { LoRaWANError } from './errors.js';
export type { LoRaWANErrorCode } from './errors.js';

// Frame codec
export { decodeFrame } from './frame.js';
export { encodeFrame } from './frame-encode.js';
export type {
  MType, MicStatus, LoRaWANVersion, FrameKeys, FrameOptions, FCtrl, DLSettings,
  Frame, DataFrame, JoinRequestFrame, JoinAcceptFrame, JoinAcceptFields, RejoinRequestFrame, ProprietaryFrame,
  FrameFields, DataFrameFields, JoinRequestFields, JoinAcceptEncodeFields, RejoinRequestFields, ProprietaryFields,
} from './frame-types.js';

// MAC commands
export { decodeMacCommands, encodeMacCommands, macCommandDirection, macCommandCid } from './mac-commands.js';
export type { Direction, MacCommand, MacCommandType, UplinkMacCommand, DownlinkMacCommand } from './mac-commands.js';

// Crypto and keys
export { aesCmac } from './crypto.js';
export { deriveSessionKeys10, deriveSessionKeys11 } from './keys.js';
export type { SessionKeys10, SessionKeys11 } from './keys.js';

// Frame counters
export { reconstructFCnt, FrameCounter } from './fcnt.js';
export type { FrameCounterOptions } from './fcnt.js';

// Time on air
export { timeOnAir, fskTimeOnAir } from './airtime.js';
export type { LoRaAirtimeParams, FskAirtimeParams, CodingRate, SpreadingFactor } from './airtime.js';

// Regional parameters
export {
  REGIONAL_PARAMETERS, REGION_NAMES, EU868, US915, AU915, CN779, EU433, AS923, AS923_2, AS923_3, AS923_4, AS923_JAPAN_LBT,
  KR920, IN865, RU864, CN470_20A, CN470_20B, CN470_26A, CN470_26B, CN470_JOIN_CHANNELS_HZ, cn470Plan, cn470JoinPlan,
  getRegion, dataRate, dataRateFor, maxAppPayload, airtimeForDataRate, txPowerDbm,
} from './regions.js';
export type { Region, RegionName, DataRate, Channel, ListenBeforeTalk, Cn470Plan, Cn470Join } from './regions.js';

// Join-accept CFList and the channel plan after join
export { decodeCfList, encodeCfList, channelsAfterJoin } from './cflist.js';
export type { CfList } from './cflist.js';
export { applyLinkAdrReqs } from './link-adr.js';
export type { LinkAdrReq, ChannelPlan, LinkAdrOutcome } from './link-adr.js';

// Class B and Class C timing
export {
  BEACON_PERIOD_MS, BEACON_RESERVED_MS, BEACON_GUARD_MS, BEACON_WINDOW_MS, PING_SLOT_LENGTH_MS, GPS_LEAP_SECONDS,
  gpsTimeMs, beaconStartMs, pingOffset, nextPingSlotMs, classCWindows,
} from './class-b.js';
export type { ClassCWindows } from './class-b.js';

// Duty cycle and scheduling
export { DutyCycleAccountant, EU868_SUB_BANDS, joinDutyCycle, uplinksPerHour } from './duty-cycle.js';
export type { SubBand, DutyCycleModel, DutyCycleOptions, TransmitOptions, SubBandUsage } from './duty-cycle.js';
export { TransmitScheduler, assertDwellTime } from './scheduler.js';
export type { QueuedUplink, ScheduleDecision, SchedulerOptions } from './scheduler.js';
export { SigfoxBudget } from './sigfox.js';
export type { SigfoxBudgetOptions } from './sigfox.js';

// Coverage and ADR
export { REQUIRED_SNR_DB, linkCheckReport, estimateCoverage } from './coverage.js';
export type { CoverageVerdict, CoverageThresholds, LinkCheckReport, GatewayReception, UplinkMetadata, GatewayCoverage, CoverageEstimate } from './coverage.js';
export { suggestAdr } from './adr.js';
export type { AdrInput, AdrSuggestion } from './adr.js';

// TS013 payload codecs, run isolated
export { loadPayloadCodec } from './payload-codec.js';
export type { PayloadCodec, PayloadCodecOptions, PayloadCodecResult, PayloadCodecFailure, PayloadCodecInput, PayloadCodecStats, EncodedDownlink } from './payload-codec.js';

// Hex helpers (for CLIs and tests)
export { toHex, fromHex } from './bytes.js';

/** Package version. */
export const VERSION = '0.1.0';
