// Identity rules, checked with certificates the SDK did not make: a matrix built with the
// openssl CLI (wildcard and slash CNs, two CNs, SHA-1, RSA-512, secp192k1, wrong EKUs, expired,
// another CA, through intermediates), each with its typed code from checkDeviceCredentials and
// its outcome at a real Mosquitto 2.0 running the config brokerConfig() generates.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startMosquitto, tempDir, type Mosquitto } from '@outpost/test-peers';
import { DeviceError, checkDeviceCredentials, connectDevice } from '@outpost/device-sdk';
import { brokerConfig } from '@outpost/pki';

let tmp: { path: string; cleanup(): void };
let broker: Mosquitto;
let caBundle: string; // the broker's cafile and the client's ca: both roots

const read = (name: string): string => readFileSync(join(tmp.path, name), 'utf8');

/** openssl with security level 0, so it will make SHA-1 and RSA-512 certificates at all. */
function openssl(args: string[]): string {
  const r = spawnSync('openssl', args, { cwd: tmp.path, encoding: 'utf8', env: { ...process.env, OPENSSL_CONF: join(tmp.path, 'weak.cnf') } });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

type KeySpec = 'P-256' | 'secp192k1' | 'rsa512';
const EXT: Record<string, string> = {
  client: 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
  server: 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  serverAsClient: 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  ca0: 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n',
};

function newKey(name: string, spec: KeySpec): void {
  if (spec === 'rsa512') openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:512', '-out', `${name}.key`]);
  else openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${spec}`, '-out', `${name}.key`]);
}

function root(name: string, pathlen: number): void {
  newKey(name, 'P-256');
  openssl(['req', '-x509', '-new', '-key', `${name}.key`, '-out', `${name}.pem`, '-subj', `/CN=${name}`, '-days', '30',
    '-addext', `basicConstraints=critical,CA:TRUE,pathlen:${pathlen}`, '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

/** Signs `name`.key's request with `issuer`; `name`.chain.pem is the leaf followed by `chain`. */
function issue(name: string, o: { subj: string; issuer: string; key?: KeySpec; ext?: keyof typeof EXT; digest?: string; chain?: readonly string[] }): void {
  newKey(name, o.key ?? 'P-256');
  openssl(['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', o.subj]);
  writeFileSync(join(tmp.path, `${name}.ext`), EXT[o.ext ?? 'client']!);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${o.issuer}.pem`, '-CAkey', `${o.issuer}.key`, '-set_serial', String(Math.floor(Math.random() * 2 ** 48)),
    '-days', '5', `-${o.digest ?? 'sha256'}`, '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
  writeFileSync(join(tmp.path, `${name}.chain.pem`), [name, ...(o.chain ?? [])].map((n) => read(`${n}.pem`)).join(''));
}

/** An expired certificate (2020-2021): `openssl x509` cannot backdate, `openssl ca` can. */
function issueExpired(name: string): void {
  newKey(name, 'P-256');
  openssl(['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  writeFileSync(join(tmp.path, `${name}.ext`), EXT['client']!);
  writeFileSync(join(tmp.path, 'index.txt'), '');
  writeFileSync(join(tmp.path, 'serial'), '1000\n');
  writeFileSync(join(tmp.path, 'ca.cnf'), '[ca]\ndefault_ca = c\n[c]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n');
  openssl(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'root.pem', '-keyfile', 'root.key', '-in', `${name}.csr`, '-out', `${name}.pem`, '-notext',
    '-startdate', '20200101000000Z', '-enddate', '20210101000000Z', '-extfile', `${name}.ext`]);
  writeFileSync(join(tmp.path, `${name}.chain.pem`), read(`${name}.pem`));
}

/** The code checkDeviceCredentials gives, or 'ok'. */
function clientCheck(name: string): string {
  try {
    return checkDeviceCredentials({ cert: read(`${name}.chain.pem`), key: read(`${name}.key`), ca: caBundle }).deviceId === '' ? 'empty' : 'ok';
  } catch (err) {
    if (!(err instanceof DeviceError)) throw err;
    return err.code;
  }
}

/**
 * Raw MQTT.js at OpenSSL security level 0, so the client side loads any certificate and only the
 * broker decides. Resolves the connected client, or the error.
 */
async function rawConnect(name: string, clientId: string, tls12 = false): Promise<mqtt.MqttClient | Error> {
  try {
    // MQTT.js passes TLS options through to tls.connect; its types list only some of them.
    return await mqtt.connectAsync(`mqtts://127.0.0.1:${broker.port}`, {
      ca: caBundle, cert: read(`${name}.chain.pem`), key: read(`${name}.key`), clientId, protocolVersion: 5,
      reconnectPeriod: 0, connectTimeout: 10_000, ciphers: 'DEFAULT@SECLEVEL=0', ...(tls12 ? { maxVersion: 'TLSv1.2' as const } : {}),
    } as mqtt.IClientOptions);
  } catch (err) {
    return err as Error;
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  tmp = tempDir('outpost-identity-');
  writeFileSync(join(tmp.path, 'weak.cnf'), 'openssl_conf = c\n[c]\nssl_conf = s\n[s]\nsystem_default = d\n[d]\nCipherString = DEFAULT@SECLEVEL=0\n');
  root('root', 1); // may issue through one intermediate
  root('root0', 0); // pathlen:0, as createFleetCA made every CA before
  root('other', 1); // not trusted by the broker
  caBundle = read('root.pem') + read('root0.pem');
  writeFileSync(join(tmp.path, 'cafile.pem'), caBundle);
  issue('inter', { subj: '/CN=Fleet Intermediate', issuer: 'root', ext: 'ca0' });
  issue('inter0', { subj: '/CN=Intermediate under pathlen 0', issuer: 'root0', ext: 'ca0' });
  issue('server', { subj: '/CN=127.0.0.1', issuer: 'root', ext: 'server' });
  issue('dev-a', { subj: '/CN=dev-a', issuer: 'root' });
  issue('dev-b', { subj: '/CN=dev-b', issuer: 'root' });
  issue('slash', { subj: '/CN=dev-a\\/x', issuer: 'root' });
  issue('plus', { subj: '/CN=dev\\+', issuer: 'root' });
  issue('hash', { subj: '/CN=dev#', issuer: 'root' });
  issue('star', { subj: '/CN=*', issuer: 'root' });
  issue('two', { subj: '/CN=dev-b/CN=dev-a', issuer: 'root' });
  issue('sha1', { subj: '/CN=sha1-dev', issuer: 'root', digest: 'sha1' });
  issue('rsa512', { subj: '/CN=rsa512-dev', issuer: 'root', key: 'rsa512' });
  issue('k192', { subj: '/CN=k192-dev', issuer: 'root', key: 'secp192k1' });
  issue('servereku', { subj: '/CN=eku-dev', issuer: 'root', ext: 'server' });
  issue('foreign', { subj: '/CN=dev-a', issuer: 'other' });
  issue('via-inter', { subj: '/CN=via-inter', issuer: 'inter', chain: ['inter'] });
  issue('via-inter-nochain', { subj: '/CN=via-inter-nochain', issuer: 'inter' });
  issue('via-inter0', { subj: '/CN=via-inter0', issuer: 'inter0', chain: ['inter0'] });
  issueExpired('expired');

  broker = await startMosquitto({
    dir: tmp.path,
    config: (port) => {
      // The generated config, defaults untouched (bindClientId: true).
      const cfg = brokerConfig({ caPath: join(tmp.path, 'cafile.pem'), serverCertPath: join(tmp.path, 'server.pem'), serverKeyPath: join(tmp.path, 'server.key'), aclPath: join(tmp.path, 'acl'), port, host: '127.0.0.1' });
      writeFileSync(join(tmp.path, 'acl'), cfg.acl);
      return cfg.mosquittoConf.replace(/^(listener .*)$/m, 'log_type all\n$1');
    },
  });
}, 60_000);

afterAll(async () => {
  await broker?.stop();
  tmp?.cleanup();
});

describe('certificates the broker refuses: the client check refuses them first, with a typed code', () => {
  // [name, code from checkDeviceCredentials, what the broker logs when it refuses the handshake]
  test.each([
    ['sha1', 'WEAK_SIGNATURE', /ca md too weak|certificate verify failed/],
    // TLS 1.3 has no signature scheme for these keys, so a client would not even send them (the
    // broker then says "peer did not return a certificate"); over TLS 1.2 the broker judges the key.
    ['rsa512', 'WEAK_KEY', /certificate verify failed/],
    ['k192', 'UNSUPPORTED_CURVE', /certificate verify failed/],
    ['servereku', 'CERT_INVALID', /unsupported certificate purpose|certificate verify failed/],
    ['expired', 'CERT_EXPIRED', /certificate has expired|certificate verify failed/],
    ['foreign', 'CERT_UNTRUSTED', /unable to get local issuer certificate|certificate verify failed/],
    ['via-inter-nochain', 'CERT_UNTRUSTED', /unable to get local issuer certificate|certificate verify failed/],
    ['via-inter0', 'CERT_UNTRUSTED', /path length constraint exceeded|certificate verify failed/],
  ] as const)('%s → %s; Mosquitto refuses the handshake', async (name, code, log) => {
    expect(clientCheck(name)).toBe(code);
    const before = broker.log().length;
    const r = await rawConnect(name, `${name}-raw`, true);
    if (!(r instanceof Error)) await r.endAsync(true);
    expect(r).toBeInstanceOf(Error);
    await until(() => log.test(broker.log().slice(before)), `the broker's refusal of ${name}`);
  });
});

describe('certificates the broker accepts', () => {
  test('through an intermediate (chain in the bundle, root pathlen:1): accepted by both, CN is the identity', async () => {
    expect(clientCheck('via-inter')).toBe('ok');
    const c = await rawConnect('via-inter', 'whatever-id');
    expect(c).not.toBeInstanceOf(Error);
    await (c as mqtt.MqttClient).endAsync();
    expect(broker.log()).toMatch(/New client connected from 127\.0\.0\.1:\d+ as via-inter \(p5, c1, k60, u'via-inter'\)/);
  });

  test('a slash CN: refused by the client check (CERT_INVALID); Mosquitto would let it into dev-a\'s tree', async () => {
    expect(clientCheck('slash')).toBe('CERT_INVALID');
    const a = (await rawConnect('dev-a', 'dev-a')) as mqtt.MqttClient;
    const got: string[] = [];
    a.on('message', (t) => got.push(t));
    await a.subscribeAsync('devices/dev-a/#');
    const s = (await rawConnect('slash', 'slash')) as mqtt.MqttClient;
    await s.publishAsync('devices/dev-a/x/cmd', 'forged', { qos: 1 });
    await a.publishAsync('devices/dev-a/end', 'end', { qos: 1 });
    await until(() => got.includes('devices/dev-a/end'), 'the end marker');
    // What the broker alone does: %u = "dev-a/x" puts the slash CN inside dev-a's subtree. Only
    // the CA (which refuses such an id) and the client check stand in the way.
    expect(got).toEqual(['devices/dev-a/x/cmd', 'devices/dev-a/end']);
    await s.endAsync();
    await a.endAsync();
  });

  test.each(['plus', 'hash'])('a wildcard CN (%s): CERT_INVALID at the client; Mosquitto admits it but denies it every topic', async (name) => {
    expect(clientCheck(name)).toBe('CERT_INVALID');
    const before = broker.log().length;
    const c = (await rawConnect(name, name)) as mqtt.MqttClient;
    const r = await c.publishAsync('devices/dev-a/cmd', 'x', { qos: 1 }).then(() => 'ok', (e: unknown) => String(e));
    expect(r).toMatch(/Not authorized|135/);
    await c.endAsync();
    expect(broker.log().slice(before)).toMatch(/ACL denying access to client with dangerous username/);
  });

  test('a "*" CN: CERT_INVALID at the client; Mosquitto confines it to devices/*/#', async () => {
    expect(clientCheck('star')).toBe('CERT_INVALID');
    const c = (await rawConnect('star', 'star')) as mqtt.MqttClient;
    const denied = await c.publishAsync('devices/dev-a/cmd', 'x', { qos: 1 }).then(() => 'ok', (e: unknown) => String(e));
    expect(denied).toMatch(/Not authorized|135/);
    await c.endAsync();
  });

  test('two CNs: CERT_INVALID at the client; Mosquitto takes the first CN as the identity', async () => {
    expect(clientCheck('two')).toBe('CERT_INVALID');
    const c = (await rawConnect('two', 'two')) as mqtt.MqttClient;
    await c.endAsync();
    expect(broker.log()).toMatch(/New client connected from 127\.0\.0\.1:\d+ as dev-b \(p5, c1, k60, u'dev-b'\)/);
  });
});

describe('client ids are bound to the certificate (use_username_as_clientid)', () => {
  test('a device connecting with another device\'s client id gets its own, and does not disconnect the other', async () => {
    const b = (await rawConnect('dev-b', 'dev-b')) as mqtt.MqttClient;
    let bClosed = false;
    b.on('close', () => (bClosed = true));
    const before = broker.log().length;
    const a = (await rawConnect('dev-a', 'dev-b')) as mqtt.MqttClient;
    expect(a).not.toBeInstanceOf(Error);
    await until(() => /New client connected from 127\.0\.0\.1:\d+ as dev-a \(p5, c1, k60, u'dev-a'\)/.test(broker.log().slice(before)), 'dev-a connected under its own id');
    // b still works: a round trip through the broker after a's CONNECT.
    await b.publishAsync('devices/dev-b/ping', 'p', { qos: 1 });
    expect(bClosed).toBe(false);
    expect(broker.log().slice(before)).not.toContain('Client dev-b already connected, closing old connection');
    await a.endAsync();
    await b.endAsync();
  });
});

describe('the broker\'s certificate', () => {
  test('a broker certificate without serverAuth → SERVER_CERT_UNTRUSTED at connectDevice', async () => {
    issue('wrong-server', { subj: '/CN=127.0.0.1', issuer: 'root', ext: 'serverAsClient' });
    const other = await startMosquitto({
      dir: tmp.path,
      config: (port) => brokerConfig({ caPath: join(tmp.path, 'cafile.pem'), serverCertPath: join(tmp.path, 'wrong-server.pem'), serverKeyPath: join(tmp.path, 'wrong-server.key'), aclPath: join(tmp.path, 'acl'), port, host: '127.0.0.1' }).mosquittoConf,
    });
    try {
      const err = await connectDevice({ url: `mqtts://127.0.0.1:${other.port}`, ca: caBundle, cert: read('dev-a.pem'), key: read('dev-a.key'), reconnect: false }).then(
        async (c) => { await c.close(); return undefined; },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DeviceError);
      expect((err as DeviceError).code).toBe('SERVER_CERT_UNTRUSTED');
    } finally {
      await other.stop();
    }
  });
});
