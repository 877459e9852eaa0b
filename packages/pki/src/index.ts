/**
 * {@include ../README.md#site}
 *
 * @packageDocumentation
 * @module @outpost/pki
 */

// --- errors ---
export { PkiError } from './errors.js';
export type { PkiErrorCode } from './errors.js';

// --- CA, intermediates, device and server certificates ---
export { createFleetCA, issueDeviceCertificate } from './certificates.js';
export type { KeyAlgorithm, FleetCA, CreateFleetCAOptions, CaCredentials, ValidityOptions, IssueDeviceOptions, DeviceCertificate } from './certificates.js';
export { createIntermediateCA, initIntermediateCaDir } from './intermediate.js';
export type { IntermediateCA, CreateIntermediateCAOptions, InitIntermediateCaDirOptions } from './intermediate.js';
export { issueServerCertificate } from './server-cert.js';
export type { IssueServerOptions, ServerCertificate } from './server-cert.js';

// --- CA directory and registry, revocation ---
export { openCaDir, CaDir } from './ca-dir.js';
export { initCaDir } from './ca-dir-init.js';
export type { OpenCaDirOptions } from './ca-dir.js';
export type { RegisteredCertificate, RegisteredDevice, IssueRegisteredDeviceOptions } from './ca-dir.js';
export { createRevocationList } from './crl.js';
export type { RevokedCertificate, CreateRevocationListOptions } from './crl.js';

// --- broker configuration ---
export { brokerConfig, claimAcl } from './broker-config.js';
export type { BrokerConfigOptions, BrokerConfig } from './broker-config.js';
export { writeBrokerFiles } from './broker-files.js';
export type { WriteBrokerFilesOptions, BrokerFiles } from './broker-files.js';

// --- fleet provisioning by claim (AWS IoT fleet provisioning MQTT API) ---
export { claimCommonName, issueClaimCertificate, issueEvictionCertificate } from './provisioning-claim.js';
export type { IssueClaimOptions, IssueEvictionOptions } from './provisioning-claim.js';
export { provisioningTopics } from './provisioning-protocol.js';
export type { PayloadFormat, Rejection } from './provisioning-protocol.js';
export { startProvisioningService } from './provisioning-service.js';
export type {
  ProvisioningMqttClient,
  ProvisioningTemplate,
  PreProvisioningRequest,
  PreProvisioningHook,
  ProvisioningEvent,
  ProvisioningServiceOptions,
  ProvisioningStats,
  ProvisioningService,
} from './provisioning-service.js';
export type { RateLimit } from './provisioning-rate.js';
