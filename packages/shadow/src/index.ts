/**
 * {@include ../README.md#site}
 *
 * @packageDocumentation
 * @module @outpost/shadow
 */

// --- document model (pure) ---
export { applyUpdate, computeDelta, decodeRequest, deleteShadow, getDocument, validateUpdateRequest } from './document.js';
export { DEFAULT_LIMITS } from './document-types.js';
export type {
  ApplyOptions, DeleteAccepted, DeltaMessage, DocumentSnapshot, DocumentsMessage, ShadowDocument, ShadowLimits, ShadowMetadata,
  ShadowRecord, ShadowState, UpdateAccepted, UpdateRequest, UpdateResult,
} from './document-types.js';
export { mergePatches } from './patch.js';
export type { JsonObject, JsonValue } from './json.js';

// --- topics ---
export { shadowTopic, shadowTopicPrefix, shadowResponseTopics, parseShadowTopic, checkThingName, checkShadowName } from './topics.js';
export type { ShadowOperation, ShadowTopic, ShadowTopicSuffix } from './topics.js';

// --- MQTT client interface ---
export type { MqttLike } from './transport.js';

// --- device side ---
export { createShadowClient } from './shadow-client.js';
export type { ShadowClient, ShadowClientOptions, ShadowClientStats, DeltaInfo } from './shadow-client-types.js';

// --- application side ---
export { createShadowAppClient } from './app-client.js';
export type { ShadowAppClient, ShadowAppClientOptions, ShadowAppClientStats, ShadowCallOptions, ModifyResult } from './app-client.js';

// --- reference service and stores ---
export { startShadowService } from './service.js';
export type { ShadowService, ShadowServiceOptions, ShadowServiceStats, ServiceReply } from './service.js';
export { MemoryShadowStore, openFileShadowStore } from './store.js';
export type { ShadowKey, ShadowStore, FileShadowStoreOptions } from './store.js';

// --- errors ---
export { ShadowError } from './errors.js';
export type { ShadowErrorCode, ErrorDocument } from './errors.js';
