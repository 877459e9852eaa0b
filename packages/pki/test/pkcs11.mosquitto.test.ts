// Device keys in a PKCS#11 token (SoftHSM2 as the token): the key pair generated inside it
// (pkcs11-tool: sensitive, never extractable), the CSR signed by it (openssl with Debian's
// pkcs11 engine), the certificate issued by the fleet CA from that CSR, and a full mutual-TLS
// MQTT session with Mosquitto from Node 20 with the private key never leaving the token
// (tls.connect's privateKeyEngine / privateKeyIdentifier, through MQTT.js).
//
// Node 20 links its own OpenSSL 3.0 statically. privateKeyEngine: 'pkcs11' (an engine id) fails
// with "DSO support routines::could not load the shared library": Node's OpenSSL looks in its own
// build-time ENGINESDIR. The full path of Debian's engine (libengine-pkcs11-openssl) loads and
// works; the engine finds SoftHSM through p11-kit's module registry.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { requireBinary, startMosquitto, tempDir, type Mosquitto } from '@outpost/test-peers';
import { DeviceError, connectDevice } from '@outpost/device-sdk';
import { brokerConfig, createFleetCA, initCaDir, issueDeviceCertificate, type CaDir } from '@outpost/pki';

const ENGINE = '/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so';
const MODULE = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'].find((p) => existsSync(p));
const PIN = '5678';
const KEY_URI = `pkcs11:token=outpost-dev;object=devkey;type=private;pin-value=${PIN}`;

const tmp = tempDir('outpost-pkcs11-');
let ca: CaDir;
let broker: Mosquitto;
const savedConf = process.env['SOFTHSM2_CONF'];

function sh(cmd: string, args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync(requireBinary(cmd), args, { encoding: 'utf8', env: { ...process.env, ...env }, cwd: tmp.path });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
  return `${r.stdout}${r.stderr}`;
}

beforeAll(async () => {
  if (MODULE === undefined || !existsSync(ENGINE)) throw new Error('needs softhsm2 and libengine-pkcs11-openssl: apt-get install softhsm2 libengine-pkcs11-openssl opensc');
  mkdirSync(join(tmp.path, 'tokens'));
  writeFileSync(join(tmp.path, 'softhsm2.conf'), `directories.tokendir = ${join(tmp.path, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env['SOFTHSM2_CONF'] = join(tmp.path, 'softhsm2.conf'); // read by SoftHSM inside this process too (the engine)
  sh('softhsm2-util', ['--init-token', '--free', '--label', 'outpost-dev', '--so-pin', '1234', '--pin', PIN]);
  ca = await initCaDir(join(tmp.path, 'ca'));
  const dir = join(tmp.path, 'broker');
  mkdirSync(dir);
  chmodSync(tmp.path, 0o755); // Mosquitto (its own user) reads broker/
  const server = await ca.issueServer({ hosts: ['127.0.0.1'] });
  const paths = { caPath: join(dir, 'ca.pem'), serverCertPath: join(dir, 'server.pem'), serverKeyPath: join(dir, 'server.key'), aclPath: join(dir, 'acl') };
  writeFileSync(paths.caPath, ca.certificatePem);
  writeFileSync(paths.serverCertPath, server.chainPem);
  writeFileSync(paths.serverKeyPath, server.privateKeyPem!, { mode: 0o600 });
  broker = await startMosquitto({ dir, config: (port) => { const c = brokerConfig({ ...paths, port, host: '127.0.0.1' }); writeFileSync(paths.aclPath, c.acl); return c.mosquittoConf; } });
});
afterAll(async () => {
  await broker?.stop();
  if (savedConf === undefined) delete process.env['SOFTHSM2_CONF'];
  else process.env['SOFTHSM2_CONF'] = savedConf;
  tmp.cleanup();
});

test('key generated in the token, CSR signed by it, certificate from the CA, mTLS MQTT session from Node with the key in the token', async () => {
  // 1. The key pair is made inside the token and cannot be read out.
  sh('pkcs11-tool', ['--module', MODULE!, '--login', '--pin', PIN, '--keypairgen', '--key-type', 'EC:prime256v1', '--id', '01', '--label', 'devkey']);
  const objects = sh('pkcs11-tool', ['--module', MODULE!, '--login', '--pin', PIN, '--list-objects', '--type', 'privkey']);
  expect(objects).toMatch(/sensitive, always sensitive, never extractable, local/);
  // 2. The CSR is signed by the token (openssl + the pkcs11 engine).
  writeFileSync(join(tmp.path, 'openssl.cnf'), `openssl_conf = init\n[init]\nengines = engines\n[engines]\npkcs11 = p11\n[p11]\nengine_id = pkcs11\ndynamic_path = ${ENGINE}\nMODULE_PATH = ${MODULE}\ninit = 0\n`);
  sh('openssl', ['req', '-new', '-engine', 'pkcs11', '-keyform', 'engine', '-key', KEY_URI, '-subj', '/CN=hsm-dev-1', '-out', 'hsm.csr'], { OPENSSL_CONF: join(tmp.path, 'openssl.cnf') });
  // 3. The fleet CA issues from it (the CSR's signature is checked: it proves possession of the token key).
  const cert = await ca.issueDevice({ deviceId: 'hsm-dev-1', csrPem: readFileSync(join(tmp.path, 'hsm.csr'), 'utf8') });
  expect(cert.privateKeyPem).toBeUndefined();
  // 4. Mutual TLS to Mosquitto from Node, the private key operation done by the token:
  // connectDevice({ key: { engine, id } }) hands tls.connect privateKeyEngine / privateKeyIdentifier.
  const url = `mqtts://127.0.0.1:${broker.port}`;
  const c = await connectDevice({ url, cert: cert.chainPem, key: { engine: ENGINE, id: KEY_URI }, ca: ca.certificatePem });
  await c.publish('devices/hsm-dev-1/telemetry', 'from the token', { qos: 1 });
  await c.close();
  expect(broker.log()).toMatch(/New client connected from 127\.0\.0\.1:\d+ as hsm-dev-1 \(p5, c1, k60, u'hsm-dev-1'\)/);
  tokenCert = cert.chainPem;
});

let tokenCert: string | undefined;

test('connectDevice with the key in the token ({ engine, id }): the checks run on the certificate, the handshake proves the key', async () => {
  expect(tokenCert).toBeDefined(); // from the test above (same token)
  const url = `mqtts://127.0.0.1:${broker.port}`;
  const key = { engine: ENGINE, id: KEY_URI };
  // Again, and through a reconnect: the engine context is made once per process (libp11 under
  // Node 20 fails a second load of the engine with "engine routines::init failed").
  const c = await connectDevice({ url, cert: tokenCert!, key, ca: ca.certificatePem, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
  await c.publish('devices/hsm-dev-1/telemetry', 'connectDevice, key in the token', { qos: 1 });
  let offline = 0;
  c.on('offline', () => offline++);
  await broker.stop();
  await broker.start();
  await new Promise<void>((r) => { const check = (): void => void (offline > 0 && c.connected ? r() : setTimeout(check, 50)); check(); });
  await c.publish('devices/hsm-dev-1/telemetry', 'after the reconnect', { qos: 1 });
  await c.close();
  // The certificate checks still run before any socket: a certificate from another CA is refused.
  const other = await createFleetCA({ commonName: 'Other CA' });
  const stranger = await issueDeviceCertificate({ ca: other, deviceId: 'hsm-dev-1' });
  const untrusted = await connectDevice({ url, cert: stranger.certificatePem, key, ca: ca.certificatePem, reconnect: false }).then(() => undefined, (e: unknown) => e);
  expect(untrusted).toBeInstanceOf(DeviceError);
  expect((untrusted as DeviceError).code).toBe('CERT_UNTRUSTED');
  // (A certificate whose key is not the token's would need a second engine context: see above.)
  // A key without engine or id is a TypeError.
  await expect(connectDevice({ url, cert: tokenCert!, key: { engine: ENGINE } as never, ca: ca.certificatePem })).rejects.toThrow(TypeError);
});
