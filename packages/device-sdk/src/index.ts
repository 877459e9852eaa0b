/**
 * `@outpost/device-sdk`: secure device connectivity for IoT fleets.
 *
 * @packageDocumentation
 * @module @outpost/device-sdk
 * @document ../README.md
 */

// --- errors ---
export { DeviceError } from './errors.js';
export type { DeviceErrorCode } from './errors.js';

// --- identity: fleet CA, per-device certificates, broker config ---
export { createFleetCA, issueDeviceCertificate } from './identity/certificates.js';
export type { KeyAlgorithm, FleetCA, CreateFleetCAOptions, CaCredentials, ValidityOptions, IssueDeviceOptions, DeviceCertificate } from './identity/certificates.js';
export { issueServerCertificate } from './identity/server-cert.js';
export type { IssueServerOptions, ServerCertificate } from './identity/server-cert.js';
export { parseDeviceIdentity, checkDeviceCredentials, assertNotSharedCredential } from './identity/verify.js';
export type { DeviceIdentity, CheckDeviceCredentialsOptions, PresentedCredential } from './identity/verify.js';
export { brokerConfig } from './identity/broker-config.js';
export type { BrokerConfigOptions, BrokerConfig } from './identity/broker-config.js';
export { initCaDir, openCaDir, CaDir } from './identity/ca-dir.js';
export { createIntermediateCA, initIntermediateCaDir } from './identity/intermediate.js';
export type { IntermediateCA, CreateIntermediateCAOptions, InitIntermediateCaDirOptions } from './identity/intermediate.js';
export type { RegisteredCertificate, RegisteredDevice, IssueRegisteredDeviceOptions } from './identity/ca-dir.js';
export { createRevocationList } from './identity/crl.js';
export type { RevokedCertificate, CreateRevocationListOptions } from './identity/crl.js';
export { writeBrokerFiles } from './identity/broker-files.js';
export type { WriteBrokerFilesOptions, BrokerFiles } from './identity/broker-files.js';

// --- keep-alive planning ---
export { planKeepAlive, compareKeepAlive, formatKeepAliveTable } from './keepalive.js';
export type { KeepAliveOptions, KeepAlivePlan, KeepAliveReason, KeepAliveComparisonRow } from './keepalive.js';
export { pingExchangeBytes } from './keepalive-model.js';
export type { PingBytes, PingBytesOptions, TransportProfile, TlsVersion, Tls12Aead } from './keepalive-model.js';

// --- MQTT device client ---
export { connectDevice, DeviceClient } from './client.js';
export type {
  ConnectionStats,
  DeviceClientEvents,
  Granted,
  InboundMessage,
  PublishOptions,
  PublishProperties,
  RequestOptions,
  QoS,
  SubscribeOptions,
} from './client-types.js';
export type { ConnectDeviceOptions, Pem, WillMessage } from './options.js';
export { reconnectDelay, DEFAULT_RECONNECT_POLICY } from './backoff.js';
export type { ReconnectPolicy } from './backoff.js';
