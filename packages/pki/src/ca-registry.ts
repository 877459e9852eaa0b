// The types of a CA directory's registry (registry.json), shared by ca-dir.ts and the
// provisioning service's state.

import type { IssueDeviceOptions } from './certificates.js';

/** One certificate recorded in the registry. */
export interface RegisteredCertificate {
  readonly serialNumber: string;
  readonly fingerprint: string;
  readonly spkiFingerprint: string;
  /** ISO 8601. */
  readonly notBefore: string;
  readonly notAfter: string;
  readonly issuedAt: string;
  /** ISO 8601 when revoked. */
  readonly revokedAt?: string;
}

/** A device in the registry: its current certificate and those it replaced (`renew`). */
export interface RegisteredDevice {
  readonly deviceId: string;
  readonly current: RegisteredCertificate;
  readonly previous: readonly RegisteredCertificate[];
  readonly revoked: boolean;
}

/** @internal The registry file (`registry.json`), as a provisioning transaction sees it. */
export interface RegistryData {
  version: 1;
  crlNumber: number;
  devices: Record<string, { current: RegisteredCertificate; previous: RegisteredCertificate[]; revoked: boolean }>;
  /** SPKI fingerprint → device id, for every key ever certified (renewed-away keys included). */
  keys: Record<string, string>;
  /** The provisioning service's state (provisioning/state.ts), committed with the devices it issues. */
  provisioning?: unknown;
}


/** Options of {@link CaDir.issueDevice}: those of {@link issueDeviceCertificate} without `ca`, plus `renew`. */
export interface IssueRegisteredDeviceOptions extends Omit<IssueDeviceOptions, 'ca'> {
  /**
   * Issue for a device id that is already registered (or revoked), with a new key. The old
   * certificate stays valid until it expires; revoke it with {@link CaDir.revokeDevice} if its
   * key is lost. Default `false`.
   */
  readonly renew?: boolean;
}

