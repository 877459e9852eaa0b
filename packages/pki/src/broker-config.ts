// Mosquitto 2.0 configuration for a fleet broker that authenticates devices by certificate.
// Pure text generation; writing the files is the caller's (or writeBrokerFiles') business.

import { isAbsolute } from 'node:path';
import { assertOptions, checkDeviceId, describe, optionalBoolean, optionalInt, optionalString } from './args.js';

/** Options of {@link brokerConfig}. All paths must be absolute: Mosquitto resolves relative paths against its working directory, not the config file's. */
export interface BrokerConfigOptions {
  /** The fleet CA certificate (`cafile`). */
  readonly caPath: string;
  /** The broker's certificate (`certfile`), e.g. from {@link issueServerCertificate}. */
  readonly serverCertPath: string;
  /** The broker's private key (`keyfile`). */
  readonly serverKeyPath: string;
  /** Where the ACL text (the `acl` result) will be written (`acl_file`). */
  readonly aclPath: string;
  /** TCP port of the TLS listener, 1..65535 (8883 is MQTT over TLS). */
  readonly port: number;
  /** Address to bind; default: all interfaces. */
  readonly host?: string;
  /** A CRL of revoked device certificates (`crlfile`), e.g. the CA store's `crl.pem`. */
  readonly crlPath?: string;
  /** Default `false` (nothing survives a restart: right for tests); or the directory for `mosquitto.db`. */
  readonly persistence?: false | { readonly location: string };
  /** Per-client queue of QoS 1/2 messages while offline or slow. Default 100000; 0 = unlimited. */
  readonly maxQueuedMessages?: number;
  /** Per-client unacknowledged outgoing QoS 1/2 messages. Default 20 (Mosquitto's own). */
  readonly maxInflightMessages?: number;
  /** Minimum TLS version. Default `'tlsv1.2'`. */
  readonly tlsVersion?: 'tlsv1.2' | 'tlsv1.3';
  /**
   * Application identities (certificate CNs) that may read every device's topics
   * (`devices/+/#`, `$aws/things/+/shadow/#`). Issue their certificates like a device's.
   */
  readonly apps?: readonly string[];
  /**
   * Service identities (certificate CNs) and the topic filters each may read and write: the
   * reference shadow, jobs, stream and provisioning services answer on reserved topics that a
   * read-only app may not publish to. E.g. `{ 'jobs-service': ['$aws/things/+/jobs/#'] }`.
   * Filters follow MQTT's wildcard rules (`+` a whole level, `#` only last).
   */
  readonly services?: Readonly<Record<string, readonly string[]>>;
  /**
   * A second listener for MQTT over WebSockets (`wss://host:port/mqtt`), for devices behind
   * networks that pass only HTTPS, with the same TLS and client-certificate rules as the main
   * listener. Mosquitto 2.0 must be built with websockets (Debian's is).
   */
  readonly websockets?: { readonly port: number; readonly host?: string };
  /**
   * Fleet provisioning claims: claim name → the provisioning templates it may use. A claim
   * (certificate CN `claim+<name>`, see `issueClaimCertificate`) may publish only
   * CreateCertificateFromCsr / CreateKeysAndCertificate requests and RegisterThing for its
   * templates, and read only their `/accepted` and `/rejected` answers; Mosquitto applies no
   * `pattern` to a `+` username, so no device topic reaches it. The provisioning service is
   * an ordinary `services` entry (`$aws/certificates/#`, `$aws/provisioning-templates/#`).
   */
  readonly claims?: Readonly<Record<string, readonly string[]>>;
  /**
   * Started as root, Mosquitto switches to this user (its own default: `mosquitto`) before it
   * reads the certificate, key and ACL files, so they must be readable by that user.
   */
  readonly user?: string;
  /**
   * Default `true`: `use_username_as_clientid`, so the MQTT client id is the certificate CN and
   * no client can take over (and disconnect) another's session by connecting with its client
   * id. Each connection needs its own identity: an application running several instances gives
   * each its own certificate (`pipeline-1`, `pipeline-2`, all listed in `apps`). `false` lets
   * clients choose their ids, and lets any of them disconnect any other.
   */
  readonly bindClientId?: boolean;
}

/** The generated files' contents. */
export interface BrokerConfig {
  /** For `mosquitto -c <file>`. */
  readonly mosquittoConf: string;
  /** For the file at `aclPath`. */
  readonly acl: string;
}

// MQTT 3.1.1 §4.7.1: '#' only as the last level, '+' only as a whole level. No NUL, no line
// breaks (a newline would inject further ACL lines).
function checkFilter(fn: string, field: string, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`${fn}: ${field}: expected a topic filter string, got ${describe(value)}`);
  const levels = value.split('/');
  const ok = value.length > 0 && value.length <= 65_535 && !/[\r\n\0]/.test(value) &&
    levels.every((l, i) => (l.includes('#') ? l === '#' && i === levels.length - 1 : !l.includes('+') || l === '+'));
  if (!ok) throw new RangeError(`${fn}: ${field}: "${value.slice(0, 200)}" is not a valid MQTT topic filter`);
  return value;
}

function checkServices(fn: string, services: unknown): Array<[string, string[]]> {
  if (services === undefined) return [];
  if (typeof services !== 'object' || services === null || Array.isArray(services)) {
    throw new TypeError(`${fn}: services: expected { name: [topic filters] }, got ${describe(services)}`);
  }
  return Object.entries(services).map(([name, filters]): [string, string[]] => {
    checkDeviceId(fn, name, `services name "${name.slice(0, 70)}"`);
    if (!Array.isArray(filters) || filters.length === 0) throw new TypeError(`${fn}: services.${name}: expected a non-empty array of topic filters, got ${describe(filters)}`);
    return [name, (filters as unknown[]).map((f, i) => checkFilter(fn, `services.${name}[${i}]`, f))];
  });
}

function identityLines(bindClientId: boolean): string[] {
  return [
    '# Mutual TLS: a client without a valid certificate from cafile fails the handshake.',
    'require_certificate true',
    '# The certificate CN becomes the MQTT username (%u in the ACL): no passwords, and a device',
    '# cannot claim another device\'s name.',
    'use_identity_as_username true',
    ...(bindClientId
      ? ['# The username (the CN) becomes the client id: a client cannot take over, and so disconnect,',
         '# another\'s session by connecting with its client id (MQTT 3.1.1 §3.1.4 takeover).',
         'use_username_as_clientid true']
      : ['# Client ids are not tied to certificates (bindClientId: false): any client can take over,',
         '# and so disconnect, another\'s session by connecting with its client id.']),
  ];
}

function checkWebSockets(fn: string, value: unknown, mainPort: number): { port: number; host: string | undefined } | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw new TypeError(`${fn}: websockets: expected { port, host? }, got ${describe(value)}`);
  const v = value as Record<string, unknown>;
  if (v['port'] === undefined) throw new TypeError(`${fn}: websockets.port: expected a number, got undefined`);
  const port = optionalInt(fn, 'websockets.port', v['port'], 1, 65_535)!;
  if (port === mainPort) throw new RangeError(`${fn}: websockets.port: ${port} is the main listener's port; pick another`);
  const host = optionalString(fn, 'websockets.host', v['host']);
  if (host !== undefined && !/^[A-Za-z0-9.:-]+$/.test(host)) throw new RangeError(`${fn}: websockets.host: expected an IP address or host name, got "${host}"`);
  return { port, host };
}

// The template names are one topic level of $aws/provisioning-templates/<name>/provision/…
function checkClaims(fn: string, claims: unknown): Array<[string, string[]]> {
  if (claims === undefined) return [];
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new TypeError(`${fn}: claims: expected { name: [template names] }, got ${describe(claims)}`);
  }
  return Object.entries(claims).map(([name, templates]): [string, string[]] => {
    checkDeviceId(fn, name, `claims name "${name.slice(0, 70)}"`);
    if (!Array.isArray(templates) || templates.length === 0) throw new TypeError(`${fn}: claims.${name}: expected a non-empty array of template names, got ${describe(templates)}`);
    return [name, (templates as unknown[]).map((t, i) => checkDeviceId(fn, t, `claims.${name}[${i}]`))];
  });
}

/**
 * The ACL lines of one claim (what `brokerConfig({ claims })` writes for it): the claim may
 * publish provisioning requests and read their answers, for the given templates, nothing else.
 * AWS IoT fleet provisioning MQTT API topics (REFERENCES.md "Fleet operations").
 *
 * @example
 * ```ts
 * import { claimAcl } from '@outpost/pki';
 * const lines = claimAcl('line-1', ['factory']);
 * lines.includes('user claim+line-1'); // true
 * lines.includes('topic write $aws/provisioning-templates/factory/provision/json'); // true
 * lines.some((l) => l.startsWith('pattern')); // false
 * ```
 */
export function claimAcl(name: string, templates: readonly string[]): string[] {
  const fn = 'claimAcl';
  checkClaims(fn, { [checkDeviceId(fn, name, 'name')]: templates });
  return [
    '',
    `# Claim "${name}" (CN claim+${name}): only the fleet provisioning topics. No pattern applies to a`,
    '# username with "+", so it reaches no device topic; it cannot read other requests either.',
    `user claim+${name}`,
    ...['create', 'create-from-csr'].flatMap((op) => ['json', 'cbor'].flatMap((f) => [
      `topic write $aws/certificates/${op}/${f}`,
      `topic read $aws/certificates/${op}/${f}/accepted`,
      `topic read $aws/certificates/${op}/${f}/rejected`,
    ])),
    ...templates.flatMap((t) => ['json', 'cbor'].flatMap((f) => [
      `topic write $aws/provisioning-templates/${t}/provision/${f}`,
      `topic read $aws/provisioning-templates/${t}/provision/${f}/accepted`,
      `topic read $aws/provisioning-templates/${t}/provision/${f}/rejected`,
    ])),
  ];
}

function checkPath(fn: string, field: string, value: unknown, required: boolean): string | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string') throw new TypeError(`${fn}: ${field}: expected a string path, got ${describe(value)}`);
  if (!isAbsolute(value)) throw new RangeError(`${fn}: ${field}: expected an absolute path (Mosquitto resolves relative paths against its working directory), got "${value}"`);
  // A newline would let a path inject further configuration lines.
  if (/[\r\n\0]/.test(value)) throw new RangeError(`${fn}: ${field}: a path must not contain line breaks or NUL`);
  return value;
}

/**
 * Generates a Mosquitto 2.0 configuration and ACL for a fleet: one TLS listener that requires
 * a client certificate from the fleet CA, takes the certificate CN as the username and (by
 * default) as the client id, and confines each device to `devices/<id>/#` and its own `$aws/things/<id>/{shadow,jobs,streams}/#`; `services` get read-write filters of their own. Each setting is
 * explained by a comment in the generated file.
 *
 * @throws TypeError for a wrong option type; RangeError for a relative path, a bad port or a bad app name.
 * @example
 * ```ts
 * import { brokerConfig } from '@outpost/pki';
 * const { mosquittoConf, acl } = brokerConfig({
 *   caPath: '/etc/outpost/ca.pem', serverCertPath: '/etc/outpost/server.pem',
 *   serverKeyPath: '/etc/outpost/server.key', aclPath: '/etc/outpost/acl', port: 8883, host: '127.0.0.1',
 * });
 * mosquittoConf.includes('require_certificate true'); // true
 * acl.includes('pattern readwrite devices/%u/#'); // true
 * ```
 */
export function brokerConfig(options: BrokerConfigOptions): BrokerConfig {
  const fn = 'brokerConfig';
  assertOptions(fn, options);
  const caPath = checkPath(fn, 'caPath', options.caPath, true)!;
  const certPath = checkPath(fn, 'serverCertPath', options.serverCertPath, true)!;
  const keyPath = checkPath(fn, 'serverKeyPath', options.serverKeyPath, true)!;
  const aclPath = checkPath(fn, 'aclPath', options.aclPath, true)!;
  const crlPath = checkPath(fn, 'crlPath', options.crlPath, false);
  if (options.port === undefined) throw new TypeError(`${fn}: port: expected a number, got undefined`);
  const port = optionalInt(fn, 'port', options.port, 1, 65_535)!;
  const host = optionalString(fn, 'host', options.host);
  if (host !== undefined && !/^[A-Za-z0-9.:-]+$/.test(host)) throw new RangeError(`${fn}: host: expected an IP address or host name, got "${host}"`);
  const maxQueued = optionalInt(fn, 'maxQueuedMessages', options.maxQueuedMessages, 0, 2 ** 31 - 1) ?? 100_000;
  const maxInflight = optionalInt(fn, 'maxInflightMessages', options.maxInflightMessages, 0, 65_535) ?? 20;
  const tlsVersion = optionalString(fn, 'tlsVersion', options.tlsVersion) ?? 'tlsv1.2';
  if (tlsVersion !== 'tlsv1.2' && tlsVersion !== 'tlsv1.3') throw new RangeError(`${fn}: tlsVersion: expected "tlsv1.2" or "tlsv1.3", got "${tlsVersion}"`);
  const persistence = options.persistence ?? false;
  let persistenceDir: string | undefined;
  if (persistence !== false) {
    if (typeof persistence !== 'object' || persistence === null) throw new TypeError(`${fn}: persistence: expected false or { location }, got ${describe(persistence)}`);
    persistenceDir = checkPath(fn, 'persistence.location', persistence.location, true)!;
  }
  const apps = options.apps ?? [];
  if (!Array.isArray(apps)) throw new TypeError(`${fn}: apps: expected an array of strings, got ${describe(apps)}`);
  const appNames = (apps as unknown[]).map((a, i) => checkDeviceId(fn, a, `apps[${i}]`));
  const services = checkServices(fn, options.services);
  const ws = checkWebSockets(fn, options.websockets, port);
  const claims = checkClaims(fn, options.claims);
  const bindClientId = optionalBoolean(fn, 'bindClientId', options.bindClientId) ?? true;
  const user = optionalString(fn, 'user', options.user);
  if (user !== undefined && !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(user)) throw new RangeError(`${fn}: user: expected a system user name, got "${user}"`);

  const conf = [
    '# Mosquitto 2.0 configuration for an Outpost fleet broker (generated by @outpost/pki brokerConfig).',
    '# Every client authenticates with a certificate issued by the fleet CA; its CN is its identity.',
    '',
    '# Nobody connects without an identity. With use_identity_as_username the certificate CN is the',
    '# username, so certificate clients are not anonymous and are let in.',
    'allow_anonymous false',
    '# Who may use which topic (a device: only its own subtree); see the ACL file.',
    `acl_file ${aclPath}`,
    '# A client id is required (with use_username_as_clientid below it is replaced by the CN anyway).',
    'allow_zero_length_clientid false',
    '# Disable Nagle\'s algorithm: a TLS connect took 47 ms without it and 5.7 ms with it against',
    '# Mosquitto 2.0.11 on loopback (the handshake itself ~3.3 ms).',
    'set_tcp_nodelay true',
    '# QoS 1/2 messages queued per client while it is offline or slow. Mosquitto\'s default of 1000',
    '# silently dropped 13-27% of a 20k QoS 1 burst to a slow subscriber; 0 means no limit.',
    `max_queued_messages ${maxQueued}`,
    '# Unacknowledged outgoing QoS 1/2 messages per client (20 is Mosquitto\'s default); raise it on',
    '# high-latency links where acknowledgements, not bandwidth, limit throughput.',
    `max_inflight_messages ${maxInflight}`,
    ...(persistenceDir === undefined
      ? ['# No persistence: sessions and retained messages are lost on restart (right for tests and demos).', 'persistence false']
      : [
          '# Persist sessions, queued QoS 1/2 messages and retained messages across restarts.',
          'persistence true',
          `persistence_location ${persistenceDir.endsWith('/') ? persistenceDir : persistenceDir + '/'}`,
        ]),
    ...(user === undefined
      ? ['# Started as root, Mosquitto switches to the user "mosquitto" before reading the files below:', '# they must be readable by it.']
      : ['# Started as root, Mosquitto switches to this user before reading the files below.', `user ${user}`]),
    '',
    '# The only listener: MQTT over TLS with client certificates. There is no plain-text listener.',
    `listener ${port}${host === undefined ? '' : ' ' + host}`,
    '# Fleet CA: client certificates must chain to it.',
    `cafile ${caPath}`,
    '# The broker\'s own certificate and key (issued by the same CA, with the broker\'s host names).',
    `certfile ${certPath}`,
    `keyfile ${keyPath}`,
    '# Minimum TLS version for this listener (older versions are refused).',
    `tls_version ${tlsVersion}`,
    ...identityLines(bindClientId),
    ...(crlPath === undefined ? [] : ['# Revoked certificates (regenerate and restart or reload Mosquitto after a revocation).', `crlfile ${crlPath}`]),
    ...(ws === undefined
      ? []
      : [
          '',
          '# MQTT over WebSockets (wss://…/mqtt) for networks that pass only HTTPS: the same TLS and',
          '# client-certificate rules as the listener above. (Mosquitto 2.0.11 exits if a websockets',
          '# listener is its only one; the listener above is always there.)',
          `listener ${ws.port}${ws.host === undefined ? '' : ' ' + ws.host}`,
          'protocol websockets',
          `cafile ${caPath}`,
          `certfile ${certPath}`,
          `keyfile ${keyPath}`,
          `tls_version ${tlsVersion}`,
          ...identityLines(bindClientId),
          ...(crlPath === undefined ? [] : [`crlfile ${crlPath}`]),
        ]),
    '',
  ].join('\n');

  const acl = [
    '# Mosquitto ACL for an Outpost fleet (generated by @outpost/pki brokerConfig).',
    '# %u is the username, which use_identity_as_username makes the certificate CN: the device id.',
    '# Device ids (and so CNs) are [A-Za-z0-9._-]{1,64}: one topic level. Mosquitto refuses patterns to a',
    '# username with + or #, but expands a / into more levels: the CA must never sign such a CN.',
    '',
    '# Each device reads and writes its own subtree, and nothing else.',
    'pattern readwrite devices/%u/#',
    '# AWS IoT-style device shadow topics, confined to the device\'s own thing name.',
    'pattern readwrite $aws/things/%u/shadow/#',
    '# AWS IoT-style jobs and file-delivery (stream) topics, confined to the device\'s own thing name.',
    'pattern readwrite $aws/things/%u/jobs/#',
    'pattern readwrite $aws/things/%u/streams/#',
    '# Certificate rotation (outpost rotateCertificate): only the device whose CN is the level asks there,',
    '# so the provisioning service knows who sent a CSR. %u (the CN), not %c: the client id is the CN only with bindClientId.',
    'pattern readwrite $aws/certificates/rotate/%u/#',
    ...appNames.flatMap((name) => [
      '',
      `# Application "${name}": reads every device's telemetry and shadows.`,
      `user ${name}`,
      'topic read devices/+/#',
      'topic read $aws/things/+/shadow/#',
    ]),
    ...services.flatMap(([name, filters]) => [
      '',
      `# Service "${name}": reads and writes the topics it serves.`,
      `user ${name}`,
      ...filters.map((f) => `topic readwrite ${f}`),
    ]),
    ...claims.flatMap(([name, templates]) => claimAcl(name, templates)),
    '',
  ].join('\n');

  return { mosquittoConf: conf, acl };
}
