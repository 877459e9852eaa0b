// The AWS IoT fleet provisioning MQTT API (REFERENCES.md "Fleet operations"), as topics and
// payloads: CreateKeysAndCertificate, CreateCertificateFromCsr and RegisterThing, each answered
// on `<request topic>/accepted` or `/rejected`, in JSON or CBOR (the last topic level).

import { decode as cborDecode, encode as cborEncode } from 'cbor-x';

/** Payload format of a request, and so of its answer: the last level of the request topic. */
export type PayloadFormat = 'json' | 'cbor';

/** The request topics the service subscribes to (`+` = format; template names are one level). */
export const REQUEST_FILTERS: readonly string[] = [
  '$aws/certificates/create/+',
  '$aws/certificates/create-from-csr/+',
  '$aws/provisioning-templates/+/provision/+',
  // Rotation (an Outpost extension): per-device topics, confined by the ACL to the device whose CN is the level.
  '$aws/certificates/rotate/+/create-from-csr/+',
  '$aws/certificates/rotate/+/confirm/+',
];

/** A parsed request topic. */
export type RequestTopic =
  | { readonly op: 'create-keys'; readonly format: PayloadFormat }
  | { readonly op: 'create-from-csr'; readonly format: PayloadFormat }
  | { readonly op: 'register'; readonly template: string; readonly format: PayloadFormat }
  | { readonly op: 'rotate-csr' | 'rotate-confirm'; readonly deviceId: string; readonly format: PayloadFormat };

/** Which request a topic is, or `undefined` (answers, other topics). */
export function parseRequestTopic(topic: string): RequestTopic | undefined {
  const l = topic.split('/');
  const format = l[l.length - 1];
  if (format !== 'json' && format !== 'cbor') return undefined;
  if (l.length === 4 && l[0] === '$aws' && l[1] === 'certificates') {
    if (l[2] === 'create') return { op: 'create-keys', format };
    if (l[2] === 'create-from-csr') return { op: 'create-from-csr', format };
  }
  if (l.length === 6 && l[0] === '$aws' && l[1] === 'certificates' && l[2] === 'rotate' && l[3] !== '') {
    if (l[4] === 'create-from-csr') return { op: 'rotate-csr', deviceId: l[3]!, format };
    if (l[4] === 'confirm') return { op: 'rotate-confirm', deviceId: l[3]!, format };
  }
  if (l.length === 5 && l[0] === '$aws' && l[1] === 'provisioning-templates' && l[3] === 'provision' && l[2] !== '') {
    return { op: 'register', template: l[2]!, format };
  }
  return undefined;
}

/**
 * The topics of one fleet provisioning request and its two answers.
 *
 * @example
 * ```ts
 * import { provisioningTopics } from '@outpost/pki';
 * provisioningTopics('create-from-csr').accepted; // '$aws/certificates/create-from-csr/json/accepted'
 * provisioningTopics('register', { template: 'factory' }).request; // '$aws/provisioning-templates/factory/provision/json'
 * ```
 */
export function provisioningTopics(op: 'create-keys' | 'create-from-csr' | 'register', o: { template?: string; format?: PayloadFormat } = {}): { request: string; accepted: string; rejected: string } {
  const format = o.format ?? 'json';
  if (format !== 'json' && format !== 'cbor') throw new RangeError(`provisioningTopics: format: expected "json" or "cbor", got ${String(format)}`);
  let request: string;
  if (op === 'create-keys') request = `$aws/certificates/create/${format}`;
  else if (op === 'create-from-csr') request = `$aws/certificates/create-from-csr/${format}`;
  else if (op === 'register') {
    const t = o.template;
    if (typeof t !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(t)) throw new RangeError(`provisioningTopics: template: expected [A-Za-z0-9._-]{1,64}, got ${JSON.stringify(t)}`);
    request = `$aws/provisioning-templates/${t}/provision/${format}`;
  } else throw new RangeError(`provisioningTopics: op: expected create-keys, create-from-csr or register, got ${JSON.stringify(op)}`);
  return { request, accepted: `${request}/accepted`, rejected: `${request}/rejected` };
}

/** The `/rejected` document (AWS's shape), with the request's `clientToken` echoed when it had one. */
export interface Rejection {
  readonly statusCode: number;
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly clientToken?: string;
}

/** Decodes a request payload to an object, or `undefined` when it is not one. */
export function decodePayload(format: PayloadFormat, payload: Uint8Array): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = format === 'json' ? JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload)) : cborDecode(payload);
  } catch {
    return undefined;
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function encodePayload(format: PayloadFormat, value: object): Uint8Array {
  return format === 'json' ? new TextEncoder().encode(JSON.stringify(value)) : cborEncode(value);
}
