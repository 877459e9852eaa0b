/**
 * {@include ../README.md#site}
 *
 * @packageDocumentation
 * @module @outpost/ota
 */

// --- manifests and signatures ---
export { signManifest, decodeManifest, compareVersions, MANIFEST_CONTENT_TYPE } from './manifest.js';
export type { Manifest, ManifestFields } from './manifest.js';
export { verifyManifest, DEFAULT_MAX_MANIFEST_BYTES } from './verify.js';
export type { VerifyManifestOptions, VerifyResult, DeviceIdentity, DeviceUpdateState } from './verify.js';
export { parseCose } from './cose.js';
export type { CoseSign1 } from './cose.js';
export { encodeCbor } from './cbor.js';
export type { CborValue } from './cbor.js';

// --- keys ---
export { generateKeyPair, keyIdOf, keyToJwk, jwkToKey, toHex, fromHex } from './keys.js';
export type { KeyPair, Ed25519Jwk } from './keys.js';
export { verifyEd25519 } from './ed25519.js';
export type { Ed25519Backend } from './ed25519.js';
export { createTrustStore, applyKeySetUpdate, signKeySet, encodeTrustStore, decodeTrustStore, KEYSET_CONTENT_TYPE } from './keyset.js';
export type { TrustStore, TrustRoles, KeySet } from './keyset.js';

// --- TUF roles: thresholds, root rotation, freshness, persisted trusted state ---
export { signRoot, decodeRoot, trustFromRoot, applyRootUpdate, ROOT_CONTENT_TYPE, DEFAULT_MAX_ROOT_BYTES } from './roles.js';
export type { RootMetadata, RootOptions } from './roles.js';
export { addCoseSignature, parseSigned } from './cose-multi.js';
export type { RoleKeys, SignedDocument, SignatureEntry } from './cose-multi.js';
export { signTimestamp, checkTimestamp, TIMESTAMP_CONTENT_TYPE, DEFAULT_MAX_TIMESTAMP_BYTES } from './timestamp.js';
export type { Timestamp, TimestampFields, CheckTimestampOptions } from './timestamp.js';
export { openTrustState } from './trust-state.js';
export type { TrustedState, TrustStateStore, TrustStateOptions } from './trust-state.js';

// --- images, slots and boot ---
export { streamImage } from './image.js';
export type { StreamImageOptions, StreamImageResult } from './image.js';
export { fileSlots } from './slots.js';
export type { SlotName, SlotStore, SlotWriter } from './slots.js';
export { readBootState, BOOT_STATE_FILE } from './boot-state.js';
export type { BootState } from './boot-state.js';
export { verifyBoot } from './boot.js';
export type { RootOfTrust, BootCheck } from './boot.js';
export { openSlotManager } from './slot-manager.js';
export type { SlotManager, SlotManagerOptions, InstallOptions, Booted } from './slot-manager.js';

// --- the device OTA agent ---
export { createOtaAgent } from './agent.js';
export type { OtaAgent, OtaAgentOptions, OtaJobSource, OtaDownloader, ExpectedImage, HealthResult, AgentEvent } from './agent.js';
export { AGENT_JOURNAL_FILE } from './agent-journal.js';
export type { OtaJob, OtaTerminalStatus, AgentRecord, AgentStep } from './agent-journal.js';
export { encodeOtaJobDocument, parseOtaJobDocument, parseImageSource, OTA_JOB_OPERATION } from './job-document.js';
export type { OtaJobDocument, ImageSource } from './job-document.js';

// --- rollouts ---
export { planRollout, rolloutPosition } from './rollout.js';
export type { RolloutPlan, Wave, WaveSpec, WavePolicy, PlanOptions } from './rollout.js';
export { openRolloutController } from './controller.js';
export type { RolloutController, RolloutStatus, RolloutSnapshot, WaveProgress } from './controller.js';
export { createRolloutRunner, runRollout, reportOfExecution } from './rollout-runner.js';
export type { RolloutRunner, RolloutRunnerOptions, RolloutJobsApi, RolloutExecution, RunRolloutOptions } from './rollout-runner.js';
export { memoryControllerStore, fileControllerStore } from './journal.js';
export type { ControllerStore, FileControllerStoreOptions, RolloutEvent, DeviceReport } from './journal.js';

// --- errors, time, files ---
export { OtaError } from './errors.js';
export type { OtaErrorCode } from './errors.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { nodeOtaFileSystem, memoryOtaFileSystem, atomicWriteFile } from './fs.js';
export type { OtaFileSystem, OtaWriteHandle } from './fs.js';

/** Package version. */
export const VERSION = '0.1.0';
