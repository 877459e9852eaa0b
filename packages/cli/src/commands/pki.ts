import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { initCaDir, initIntermediateCaDir, openCaDir, writeBrokerFiles, type KeyAlgorithm } from '@outpost/pki';
import { CliError, defineCommand, emit, requireString, stringList, type Command, type FlagTable, type FlagValues, type Io } from '../command.js';
import { readCapped, writeNew } from '../files.js';
import { evictSession } from './provisioning.js';

// `outpost pki …`: the fleet CA on disk (see @outpost/pki initCaDir / openCaDir).
// Every private key is written with mode 0600 and never overwritten.

function int(value: unknown, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new CliError('USAGE', `--${flag}: expected an integer from ${min} to ${max}, got "${String(value)}"`, 2);
  }
  return Number(value);
}

function str(values: FlagValues, flag: string): string | undefined {
  const v = values[flag];
  return typeof v === 'string' ? v : undefined;
}

function algorithm(value: string | undefined): KeyAlgorithm | undefined {
  if (value === undefined) return undefined;
  const map: Record<string, KeyAlgorithm> = { 'ecdsa-p256': 'ECDSA-P256', 'rsa-2048': 'RSA-2048' };
  const a = map[value.toLowerCase()];
  if (a === undefined) throw new CliError('USAGE', `--algorithm: expected ecdsa-p256 or rsa-2048, got "${value}"`, 2);
  return a;
}

/** Largest PEM public key or CSR read (an RSA-4096 CSR is about 2 KiB). */
const MAX_PEM_BYTES = 64 * 1024;

// Read with a cap before parsing: /dev/zero or a FIFO ends the read with a one-line error.
const readPem = async (p: string, what: string): Promise<string> => new TextDecoder().decode(await readCapped(p, { cap: MAX_PEM_BYTES, what }));

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}


function path(io: Io, p: string): string {
  return resolve(io.cwd, p);
}

function keyFlags(defaultCn: string, defaultDays: number): FlagTable {
  return {
    algorithm: { type: 'string', arg: 'ALG', help: 'ecdsa-p256 (default) or rsa-2048; signatures are SHA-256' },
    cn: { type: 'string', arg: 'NAME', help: `common name (default ${defaultCn})` },
    days: { type: 'string', arg: 'N', help: `validity in days (default ${defaultDays})` },
  };
}

interface IssuedJson {
  deviceId: string; certificate: string; key: string | null; ca: string; serialNumber: string; fingerprint: string;
  spkiFingerprint: string; notBefore: string; notAfter: string; renewed: boolean;
}

/** `--ids-from FILE`: one device id per line; blank lines and `#` comments are skipped. */
async function idsFrom(io: Io, file: string | undefined): Promise<string[]> {
  if (file === undefined) return [];
  const text = new TextDecoder().decode(await readCapped(path(io, file), { cap: 16 << 20, what: '--ids-from' }));
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/** `--service NAME=FILTER` (repeatable) → brokerConfig's `services`. */
function serviceFlags(list: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) throw new CliError('USAGE', `--service: expected NAME=FILTER, got "${item}"`, 2);
    (out[item.slice(0, eq)] ??= []).push(item.slice(eq + 1));
  }
  return out;
}

/**
 * Run as root, Mosquitto reads its files after switching to `user`: hand them to that user (the
 * key stays 0600, now readable by the broker only). Not root, or no such user: nothing to do.
 */
async function handToBrokerUser(files: ReadonlyArray<string | undefined>, user: string): Promise<string | null> {
  if (process.getuid?.() !== 0) return null;
  const { execFileSync } = await import('node:child_process');
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    return null;
  }
  const { chown } = await import('node:fs/promises');
  for (const f of files) if (f !== undefined) await chown(f, uid, gid);
  return user;
}

export const pkiCommands: readonly Command[] = [
  defineCommand({
    path: ['pki', 'init-ca'],
    summary: 'create a fleet certificate authority in a directory',
    about: `Creates a fleet certificate authority in DIR: ca.pem (certificate), ca.key (private key,
mode 0600), registry.json (issued devices) and crl.pem (revocations). Refuses to overwrite
an existing CA. Keep DIR offline and backed up: whoever holds ca.key can mint devices.`,
    flags: {
      out: { type: 'string', arg: 'DIR', required: true, help: 'directory for the CA (created if missing)' },
      ...keyFlags('"Outpost Fleet CA"', 3650),
    },
    example: 'outpost pki init-ca --out ./fleet-ca --cn "Acme Fleet CA"',
    async run({ values }, io) {
      const out = path(io, requireString(values['out'], 'out'));
      const alg = algorithm(str(values, 'algorithm'));
      const days = int(values['days'], 'days', 1, 36_500);
      const cn = str(values, 'cn');
      const ca = await initCaDir(out, { ...(alg === undefined ? {} : { algorithm: alg }), ...(days === undefined ? {} : { validityDays: days }), ...(cn === undefined ? {} : { commonName: cn }) });
      const { X509Certificate } = await import('node:crypto');
      const cert = new X509Certificate(ca.certificatePem);
      const result = { dir: ca.dir, certificate: ca.certificatePath, key: ca.keyPath, crl: ca.crlPath, subject: cert.subject, fingerprint: cert.fingerprint256, notAfter: new Date(cert.validTo).toISOString() };
      emit(io, values.json, result, `Created fleet CA "${cert.subject.replace(/^CN=/, '')}" in ${ca.dir}\n  certificate  ${ca.certificatePath}\n  private key  ${ca.keyPath} (mode 0600: keep it offline)\n  SHA-256      ${cert.fingerprint256}\n  valid until  ${result.notAfter}`);
      return 0;
    },
  }),
  defineCommand({
    path: ['pki', 'init-intermediate'],
    summary: 'create an intermediate CA signed by the fleet root CA',
    about: `Creates an intermediate CA in DIR, signed by the root CA in ROOT_DIR (made by init-ca, which
allows one intermediate level: pathlen:1). The intermediate (pathlen:0) issues devices and
brokers; the root can then stay offline. DIR holds the files of init-ca plus chain.pem (the
intermediate, appended to every device bundle) and root.pem (the trust anchor). Devices issued
from DIR get ID.pem = device certificate + intermediate, and ca.pem = the root; broker-config
from DIR gives Mosquitto the root as cafile.`,
    flags: {
      ca: { type: 'string', arg: 'ROOT_DIR', required: true, help: 'the root CA directory (its key signs the intermediate)' },
      out: { type: 'string', arg: 'DIR', required: true, help: 'directory for the intermediate CA (created if missing)' },
      ...keyFlags('"Outpost Intermediate CA"', 1825),
    },
    example: 'outpost pki init-intermediate --ca ./fleet-ca --out ./plant-7-ca --cn "Plant 7 CA"',
    async run({ values }, io) {
      const parent = await openCaDir(path(io, requireString(values['ca'], 'ca')));
      const out = path(io, requireString(values['out'], 'out'));
      const alg = algorithm(str(values, 'algorithm'));
      const days = int(values['days'], 'days', 1, 36_500);
      const cn = str(values, 'cn');
      const ca = await initIntermediateCaDir(out, { parent, ...(alg === undefined ? {} : { algorithm: alg }), ...(days === undefined ? {} : { validityDays: days }), ...(cn === undefined ? {} : { commonName: cn }) });
      const { X509Certificate } = await import('node:crypto');
      const cert = new X509Certificate(ca.certificatePem);
      const result = { dir: ca.dir, certificate: ca.certificatePath, key: ca.keyPath, crl: ca.crlPath, subject: cert.subject, issuer: cert.issuer, fingerprint: cert.fingerprint256, notAfter: new Date(cert.validTo).toISOString() };
      emit(io, values.json, result, `Created intermediate CA "${cert.subject.replace(/^CN=/, '')}" in ${ca.dir}, signed by "${cert.issuer.replace(/^CN=/, '')}"\n  certificate  ${ca.certificatePath}\n  private key  ${ca.keyPath} (mode 0600)\n  SHA-256      ${cert.fingerprint256}\n  valid until  ${result.notAfter}\nIssue devices with: outpost pki issue-device --ca ${ca.dir} ...`);
      return 0;
    },
  }),
  defineCommand({
    path: ['pki', 'issue-device'],
    summary: 'issue per-device certificates (and keys) from the fleet CA',
    about: `Issues a certificate for each device (CN = device id, clientAuth) and records it in the CA's
registry, loading the CA once for all of them (--device-id repeated, or --ids-from FILE with one id
per line). Without --key/--csr a new ECDSA P-256 key pair is made and written as ID.key (0600).
From an intermediate CA (init-intermediate), ID.pem is the bundle: certificate + intermediate.
One key per device: a key certified before is refused, and so is a registered device id
unless --renew is given (with a new key). --key and --csr take one device only.
With --json: one device gives its object; several give { issued: [...] }.`,
    flags: {
      ca: { type: 'string', arg: 'DIR', required: true, help: 'the CA directory (from init-ca or init-intermediate)' },
      'device-id': { type: 'string', multiple: true, arg: 'ID', help: 'device id: 1-64 characters from A-Z a-z 0-9 . _ - (repeatable)' },
      'ids-from': { type: 'string', arg: 'FILE', help: 'device ids, one per line (blank lines and # comments skipped)' },
      out: { type: 'string', arg: 'DIR', required: true, help: 'writes ID.pem, ID.key (when generated) and ca.pem (the root); never overwrites' },
      key: { type: 'string', arg: 'FILE', help: "the device's existing public key (or private key; only its public half is used)" },
      csr: { type: 'string', arg: 'FILE', help: 'a PKCS#10 request made on the device (its signature is checked)' },
      days: { type: 'string', arg: 'N', help: "validity in days (default 365, never beyond the CA's)" },
      renew: { type: 'boolean', help: 'replace the certificate of a registered device (new key required)' },
    },
    example: 'outpost pki issue-device --ca ./fleet-ca --device-id sensor-0001 --device-id sensor-0002 --out ./devices',
    async run({ values }, io) {
      const caDir = path(io, requireString(values['ca'], 'ca'));
      const ids = [...stringList(values, 'device-id'), ...(await idsFrom(io, str(values, 'ids-from')))];
      if (ids.length === 0) throw new CliError('USAGE', 'missing required option --device-id (or --ids-from FILE)', 2);
      const out = path(io, requireString(values['out'], 'out'));
      const keyFile = str(values, 'key');
      const csrFile = str(values, 'csr');
      if (keyFile !== undefined && csrFile !== undefined) throw new CliError('USAGE', 'give --key or --csr, not both', 2);
      if ((keyFile !== undefined || csrFile !== undefined) && ids.length > 1) throw new CliError('USAGE', '--key and --csr belong to one device: give one --device-id', 2);
      if (new Set(ids).size !== ids.length) throw new CliError('USAGE', 'a device id is given twice', 2);
      const days = int(values['days'], 'days', 1, 36_500);
      for (const id of ids) {
        if (id.includes('/') || id.includes('\\')) throw new CliError('USAGE', `--device-id: "${id}" contains a path separator`, 2);
        for (const p of keyFile === undefined && csrFile === undefined ? [join(out, `${id}.pem`), join(out, `${id}.key`)] : [join(out, `${id}.pem`)]) {
          if (await exists(p)) throw new CliError('FILE_EXISTS', `${p} exists; refusing to overwrite it (choose another --out)`);
        }
      }
      const ca = await openCaDir(caDir);
      const publicKeyPem = keyFile === undefined ? undefined : await readPem(path(io, keyFile), 'public key');
      const csrPem = csrFile === undefined ? undefined : await readPem(path(io, csrFile), 'CSR');
      await mkdir(out, { recursive: true });
      const caCopy = join(out, 'ca.pem');
      if (!(await exists(caCopy))) await writeNew(caCopy, ca.rootPem, 0o644);
      const results: IssuedJson[] = [];
      for (const deviceId of ids) {
        const cert = await ca.issueDevice({
          deviceId,
          renew: values['renew'] === true,
          ...(days === undefined ? {} : { validityDays: days }),
          ...(publicKeyPem === undefined ? {} : { publicKeyPem }),
          ...(csrPem === undefined ? {} : { csrPem }),
        }).catch((err: unknown) => {
          // The library speaks of its option (`renew`); the user typed flags.
          const e = err as { code?: unknown; message?: unknown };
          if (e.code === 'DEVICE_ALREADY_REGISTERED') throw new CliError(e.code, String(e.message).replace(/pass renew to replace it/, 'give --renew to replace it'));
          throw err;
        });
        const certPath = join(out, `${deviceId}.pem`);
        const keyPath = join(out, `${deviceId}.key`);
        if (cert.privateKeyPem !== undefined) await writeNew(keyPath, cert.privateKeyPem, 0o600);
        await writeNew(certPath, cert.chainPem, 0o644); // the bundle: + the intermediate, when there is one
        results.push({
          deviceId: cert.deviceId, certificate: certPath, key: cert.privateKeyPem === undefined ? null : keyPath, ca: caCopy,
          serialNumber: cert.serialNumber, fingerprint: cert.fingerprint, spkiFingerprint: cert.spkiFingerprint,
          notBefore: cert.notBefore.toISOString(), notAfter: cert.notAfter.toISOString(), renewed: values['renew'] === true,
        });
      }
      const human = results.map((r) => `Issued certificate for device "${r.deviceId}"\n  certificate  ${r.certificate}\n${r.key === null ? '' : `  private key  ${r.key} (mode 0600: install it on the device only)\n`}  serial       ${r.serialNumber}\n  valid until  ${r.notAfter}`);
      emit(io, values.json, results.length === 1 ? results[0] : { issued: results }, human.join('\n'));
      return 0;
    },
  }),
  defineCommand({
    path: ['pki', 'issue-server'],
    summary: 'issue a broker (TLS server) certificate from the fleet CA',
    about: `Issues a TLS server certificate for a broker (serverAuth; each --san becomes a DNS or IP
subjectAltName) and writes server.pem, server.key (0600) and ca.pem into DIR.`,
    flags: {
      ca: { type: 'string', arg: 'DIR', required: true, help: 'the CA directory (from init-ca or init-intermediate)' },
      san: { type: 'string', multiple: true, arg: 'HOST', required: true, help: 'a host name or IP address clients connect to (repeatable)' },
      out: { type: 'string', arg: 'DIR', required: true, help: 'output directory; existing server.key is never overwritten' },
      days: { type: 'string', arg: 'N', help: 'validity in days (default 365)' },
    },
    example: 'outpost pki issue-server --ca ./fleet-ca --san 127.0.0.1 --san localhost --out ./broker',
    async run({ values }, io) {
      const caDir = path(io, requireString(values['ca'], 'ca'));
      const hosts = stringList(values, 'san');
      if (hosts.length === 0) throw new CliError('USAGE', 'missing required option --san', 2);
      const out = path(io, requireString(values['out'], 'out'));
      const days = int(values['days'], 'days', 1, 36_500);
      const certPath = join(out, 'server.pem');
      const keyPath = join(out, 'server.key');
      if (await exists(keyPath)) throw new CliError('FILE_EXISTS', `${keyPath} exists; refusing to overwrite it (choose another --out)`);
      const ca = await openCaDir(caDir);
      const server = await ca.issueServer({ hosts, ...(days === undefined ? {} : { validityDays: days }) });
      await mkdir(out, { recursive: true });
      await writeNew(keyPath, server.privateKeyPem, 0o600);
      const { writeFile } = await import('node:fs/promises');
      await writeFile(certPath, server.chainPem);
      await writeFile(join(out, 'ca.pem'), ca.rootPem);
      const result = { certificate: certPath, key: keyPath, ca: join(out, 'ca.pem'), hosts, serialNumber: server.serialNumber, fingerprint: server.fingerprint, notAfter: server.notAfter.toISOString() };
      emit(io, values.json, result, `Issued broker certificate for ${hosts.join(', ')}\n  certificate  ${certPath}\n  private key  ${keyPath} (mode 0600)\n  valid until  ${result.notAfter}`);
      return 0;
    },
  }),
  defineCommand({
    path: ['pki', 'broker-config'],
    summary: 'write a Mosquitto 2.0 mTLS config, ACL and broker certificate',
    about: `Writes a Mosquitto 2.0 setup for the fleet into DIR: mosquitto.conf (one TLS listener,
require_certificate, use_identity_as_username, use_username_as_clientid (the certificate
CN is the client id: no client can take over another's session), allow_anonymous false, set_tcp_nodelay,
max_queued_messages), acl (each device: devices/<id>/# and its own $aws/things/<id>/{shadow,jobs,streams}/#),
ca.pem, crl.pem, and a new broker certificate server.pem / server.key issued from the CA
for the --san hosts (default: 127.0.0.1 and localhost, or the --bind address).
Started as root, Mosquitto switches to --user (default mosquitto) before it reads its files:
run as root, this command hands server.key, acl and crl.pem to that user, so the printed start
command works as is.`,
    flags: {
      ca: { type: 'string', arg: 'DIR', required: true, help: 'the CA directory (from init-ca or init-intermediate)' },
      out: { type: 'string', arg: 'DIR', required: true, help: 'output directory (files are replaced)' },
      port: { type: 'string', arg: 'N', help: 'TLS port (default 8883)' },
      bind: { type: 'string', arg: 'ADDR', help: 'address to listen on (default 127.0.0.1)' },
      san: { type: 'string', multiple: true, arg: 'HOST', help: 'host name / IP for the broker certificate (repeatable)' },
      app: { type: 'string', multiple: true, arg: 'NAME', help: 'an application identity (certificate CN) that reads all devices (repeatable)' },
      service: { type: 'string', multiple: true, arg: 'NAME=FILTER', help: 'a service identity and a topic filter it reads and writes, e.g.\njobs-service=$aws/things/+/jobs/# (repeatable)' },
      'websockets-port': { type: 'string', arg: 'N', help: 'also listen for MQTT over WebSockets (wss://…/mqtt) on this port' },
      'max-queued': { type: 'string', arg: 'N', help: 'max_queued_messages (default 100000; 0 = unlimited)' },
      persistence: { type: 'string', arg: 'DIR', help: 'persist sessions and queues in DIR (default: off)' },
      user: { type: 'string', arg: 'NAME', help: 'user Mosquitto switches to when started as root (default: mosquitto)' },
      'no-crl': { type: 'boolean', help: 'leave out crlfile' },
    },
    example: 'outpost pki broker-config --ca ./fleet-ca --out ./broker --port 8883 --bind 127.0.0.1 --service jobs-service=\'$aws/things/+/jobs/#\'',
    async run({ values }, io) {
      const caDir = path(io, requireString(values['ca'], 'ca'));
      const out = path(io, requireString(values['out'], 'out'));
      const port = int(values['port'], 'port', 1, 65_535) ?? 8883;
      const host = str(values, 'bind') ?? '127.0.0.1';
      const services = serviceFlags(stringList(values, 'service'));
      const wsPort = int(values['websockets-port'], 'websockets-port', 1, 65_535);
      const sans = stringList(values, 'san');
      const hosts = sans.length > 0 ? sans : host === '127.0.0.1' || host === '0.0.0.0' ? ['127.0.0.1', 'localhost'] : [host];
      const maxQueued = int(values['max-queued'], 'max-queued', 0, 2 ** 31 - 1);
      const persistence = str(values, 'persistence');
      const user = str(values, 'user');
      const ca = await openCaDir(caDir);
      const files = await writeBrokerFiles({
        ca, outDir: out, port, host, hosts, apps: stringList(values, 'app'), crl: values['no-crl'] !== true,
        ...(maxQueued === undefined ? {} : { maxQueuedMessages: maxQueued }),
        ...(persistence === undefined ? {} : { persistence: { location: path(io, persistence) } }),
        ...(user === undefined ? {} : { user }),
        ...(Object.keys(services).length === 0 ? {} : { services }),
        ...(wsPort === undefined ? {} : { websockets: { port: wsPort, ...(host === undefined ? {} : { host }) } }),
      });
      const handed = await handToBrokerUser([files.serverKeyPath, files.aclPath, files.crlPath, files.confPath, files.caPath, files.serverCertPath], user ?? 'mosquitto');
      const result = { ...files, crlPath: files.crlPath ?? null, port, host, hosts, owner: handed, command: `mosquitto -c ${files.confPath}` };
      emit(io, values.json, result, `Wrote a Mosquitto config for ${host}:${port} to ${out}\n  config       ${files.confPath}\n  acl          ${files.aclPath}\n  server cert  ${files.serverCertPath} (for ${hosts.join(', ')})\nStart it with: mosquitto -c ${files.confPath}`);
      return 0;
    },
  }),
  defineCommand({
    path: ['pki', 'revoke'],
    summary: 'revoke a device\'s certificates and rewrite the CRL',
    about: `Revokes every certificate issued to a device and rewrites DIR/crl.pem. A Mosquitto 2.0 whose
crlfile is that file re-reads it on SIGHUP (--sighup PID; other clients stay connected): new
handshakes of the revoked certificate fail from then on. An open connection is not re-checked:
--evict takes the device's session over with a short-lived certificate of the same CN (the
broker binds the client id to the CN), which closes it; its reconnects then fail on the CRL.`,
    flags: {
      ca: { type: 'string', arg: 'DIR', required: true, help: 'the CA directory (from init-ca or init-intermediate)' },
      'device-id': { type: 'string', arg: 'ID', required: true, help: 'the device to revoke' },
      sighup: { type: 'string', arg: 'PID', help: 'send SIGHUP to the broker process after writing the CRL' },
      evict: { type: 'string', arg: 'URL', help: "mqtts://host:port: cut the device's open connection (after --sighup)" },
      'broker-ca': { type: 'string', arg: 'FILE', help: "with --evict: the CA the broker's certificate chains to" },
    },
    example: 'outpost pki revoke --ca ./fleet-ca --device-id sensor-0001 --sighup $(pidof mosquitto) --evict mqtts://127.0.0.1:8883 --broker-ca ca.pem',
    async run({ values }, io) {
      const ca = await openCaDir(path(io, requireString(values['ca'], 'ca')));
      const deviceId = requireString(values['device-id'], 'device-id');
      const pid = values['sighup'] === undefined ? undefined : Number(requireString(values['sighup'], 'sighup'));
      if (pid !== undefined && (!Number.isInteger(pid) || pid < 2)) throw new CliError('USAGE', `--sighup: expected a process id, got "${String(values['sighup'])}"`, 2);
      const serials = await ca.revokeDevice(deviceId);
      if (pid !== undefined) process.kill(pid, 'SIGHUP');
      const evicted = values['evict'] === undefined ? false : await evictSession(io, ca, deviceId, requireString(values['evict'], 'evict'), values['broker-ca']);
      emit(io, values.json, { deviceId, revoked: serials, crl: ca.crlPath, reloaded: pid !== undefined, evicted }, `Revoked ${serials.length} certificate(s) of "${deviceId}"; CRL ${ca.crlPath}\n${pid === undefined ? 'Copy it to the broker\'s crlfile and send Mosquitto SIGHUP (or restart it).' : `Sent SIGHUP to ${pid}: the broker re-reads its crlfile.`}${evicted ? '\nThe device\'s open session was taken over and closed.' : ''}`);
      return 0;
    },
  }),
  defineCommand({
    path: ['pki', 'list'],
    summary: 'list the devices registered with a fleet CA',
    about: 'Lists the devices registered in a CA directory with serial, key fingerprint and expiry.',
    flags: { ca: { type: 'string', arg: 'DIR', required: true, help: 'the CA directory (from init-ca or init-intermediate)' } },
    example: 'outpost pki list --ca ./fleet-ca --json',
    async run({ values }, io) {
      const ca = await openCaDir(path(io, requireString(values['ca'], 'ca')));
      const devices = ca.devices();
      const lines = devices.map((d) => `${d.deviceId}\t${d.current.serialNumber}\t${d.current.notAfter}${d.revoked ? '\trevoked' : ''}`);
      emit(io, values.json, { devices }, devices.length === 0 ? 'No devices registered.' : `device\tserial\tnotAfter\n${lines.join('\n')}`);
      return 0;
    },
  }),
];
