/**
 * {@include ../README.md#site}
 *
 * @packageDocumentation
 * @module @outpost/device-sdk
 */

// --- errors ---
export { DeviceError } from './errors.js';
export type { DeviceErrorCode } from './errors.js';

// --- identity: the device-side checks (the fleet CA, issuance, CRL and broker config are in @outpost/pki) ---
export { parseDeviceIdentity, checkDeviceCredentials, assertNotSharedCredential } from './identity/verify.js';
export type { DeviceIdentity, CheckDeviceCredentialsOptions, PresentedCredential } from './identity/verify.js';
export { deviceIdProblem } from './identity/args.js';
export { createDeviceCsr } from './identity/csr.js';
export type { DeviceCsr } from './identity/csr.js';
export { provisionByClaim } from './identity/provision.js';
export type { ProvisionByClaimOptions, ProvisionedDevice } from './identity/provision.js';
export { rotateCertificate, rotationDueAt, rotationTopics } from './identity/rotate.js';
export type { RotateCertificateOptions, RotationResult } from './identity/rotate.js';
export { nodeCredentialFileSystem, writeDurable } from './identity/credential-store.js';
export type { CredentialFileSystem, CredentialWriteHandle, CredentialPair } from './identity/credential-store.js';

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
export type { ConnectDeviceOptions, Pem, TokenKey, WillMessage } from './options.js';
export { reconnectDelay, DEFAULT_RECONNECT_POLICY } from './backoff.js';
export type { ReconnectPolicy } from './backoff.js';
