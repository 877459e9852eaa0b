import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { initCaDir, initIntermediateCaDir, openCaDir, writeBrokerFiles, type KeyAlgorithm } from '@outpost/pki';
import { CliError, emit, parseCommandArgs, requireString, stringList, type Command, type FlagValues, type Io } from '../command.js';
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


const initHelp = `Usage: outpost pki init-ca --out DIR [--algorithm ecdsa-p256|rsa-2048] [--cn NAME] [--days N] [--json]

Creates a fleet certificate authority in DIR: ca.pem (certificate), ca.key (private key,
mode 0600), registry.json (issued devices) and crl.pem (revocations). Refuses to overwrite
an existing CA. Keep DIR offline and backed up: whoever holds ca.key can mint devices.

Options:
  --out DIR          directory for the CA (created if missing)
  --algorithm ALG    ecdsa-p256 (default) or rsa-2048; signatures are SHA-256
  --cn NAME          CA common name (default "Outpost Fleet CA")
  --days N           validity in days (default 3650)
  --json             machine-readable output

Example:
  outpost pki init-ca --out ./fleet-ca --cn "Acme Fleet CA"`;

const intermediateHelp = `Usage: outpost pki init-intermediate --ca ROOT_DIR --out DIR [--algorithm ecdsa-p256|rsa-2048] [--cn NAME] [--days N] [--json]

Creates an intermediate CA in DIR, signed by the root CA in ROOT_DIR (made by init-ca, which
allows one intermediate level: pathlen:1). The intermediate (pathlen:0) issues devices and
brokers; the root can then stay offline. DIR holds the files of init-ca plus chain.pem (the
intermediate, appended to every device bundle) and root.pem (the trust anchor). Devices issued
from DIR get ID.pem = device certificate + intermediate, and ca.pem = the root; broker-config
from DIR gives Mosquitto the root as cafile.

Options:
  --ca ROOT_DIR      the root CA directory (its key signs the intermediate)
  --out DIR          directory for the intermediate CA (created if missing)
  --algorithm ALG    ecdsa-p256 (default) or rsa-2048; signatures are SHA-256
  --cn NAME          intermediate common name (default "Outpost Intermediate CA")
  --days N           validity in days (default 1825, never beyond the root's)
  --json             machine-readable output

Example:
  outpost pki init-intermediate --ca ./fleet-ca --out ./plant-7-ca --cn "Plant 7 CA"`;

const issueDeviceHelp = `Usage: outpost pki issue-device --ca DIR --device-id ID --out DIR [--key PUB.pem | --csr REQ.pem] [--days N] [--renew] [--json]

Issues a certificate for one device (CN = device id, clientAuth) and records it in the CA's
registry. Without --key/--csr a new ECDSA P-256 key pair is made and written as ID.key (0600).
From an intermediate CA (init-intermediate), ID.pem is the bundle: certificate + intermediate.
One key per device: a key certified before is refused, and so is a registered device id
unless --renew is given (with a new key).

Options:
  --ca DIR           the CA directory (from init-ca)
  --device-id ID     device id: 1-64 characters from A-Z a-z 0-9 . _ -
  --out DIR          writes ID.pem, ID.key (when generated) and ca.pem (the root); never overwrites
  --key FILE         the device's existing public key (or private key; only its public half is used)
  --csr FILE         a PKCS#10 request made on the device (its signature is checked)
  --days N           validity in days (default 365, never beyond the CA's)
  --renew            replace the certificate of a registered device (new key required)
  --json             machine-readable output

Example:
  outpost pki issue-device --ca ./fleet-ca --device-id sensor-0001 --out ./devices`;

const issueServerHelp = `Usage: outpost pki issue-server --ca DIR --host HOST [--host HOST ...] --out DIR [--days N] [--json]

Issues a TLS server certificate for a broker (serverAuth; each --host becomes a DNS or IP
subjectAltName) and writes server.pem, server.key (0600) and ca.pem into DIR.

Options:
  --ca DIR           the CA directory
  --host HOST        a host name or IP address clients connect to (repeatable)
  --out DIR          output directory; existing server.key is never overwritten
  --days N           validity in days (default 365)
  --json             machine-readable output

Example:
  outpost pki issue-server --ca ./fleet-ca --host 127.0.0.1 --host localhost --out ./broker`;

const brokerHelp = `Usage: outpost pki broker-config --ca DIR --out DIR [--port 8883] [--host 127.0.0.1] [--san HOST ...] [--app NAME ...] [--max-queued N] [--persistence DIR] [--user NAME] [--no-crl] [--json]

Writes a Mosquitto 2.0 setup for the fleet into DIR: mosquitto.conf (one TLS listener,
require_certificate, use_identity_as_username, use_username_as_clientid (the certificate
CN is the client id: no client can take over another's session), allow_anonymous false, set_tcp_nodelay,
max_queued_messages), acl (each device: devices/<id>/# and $aws/things/<id>/shadow/#),
ca.pem, crl.pem, and a new broker certificate server.pem / server.key issued from the CA
for --san hosts (default: 127.0.0.1 and localhost, or --host). Run: mosquitto -c DIR/mosquitto.conf

Options:
  --ca DIR           the CA directory
  --out DIR          output directory (files are replaced)
  --port N           TLS port (default 8883)
  --host ADDR        address to bind (default 127.0.0.1)
  --san HOST         host name / IP for the broker certificate (repeatable)
  --app NAME         an application identity (certificate CN) that reads all devices (repeatable)
  --max-queued N     max_queued_messages (default 100000; 0 = unlimited)
  --persistence DIR  persist sessions and queues in DIR (default: off)
  --user NAME        user Mosquitto switches to when started as root (default: mosquitto)
  --no-crl           leave out crlfile
  --json             machine-readable output

Example:
  outpost pki broker-config --ca ./fleet-ca --out ./broker --port 8883 --host 127.0.0.1`;

const revokeHelp = `Usage: outpost pki revoke --ca DIR --device-id ID [--sighup PID] [--evict URL --broker-ca FILE] [--json]

Revokes every certificate issued to a device and rewrites DIR/crl.pem. A Mosquitto 2.0 whose
crlfile is that file re-reads it on SIGHUP (--sighup PID; other clients stay connected): new
handshakes of the revoked certificate fail from then on. An open connection is not re-checked:
--evict takes the device's session over with a short-lived certificate of the same CN (the
broker binds the client id to the CN), which closes it; its reconnects then fail on the CRL.

Options:
  --ca DIR           the CA directory
  --device-id ID     the device to revoke
  --sighup PID       send SIGHUP to the broker process after writing the CRL
  --evict URL        mqtts://host:port: cut the device's open connection (after --sighup)
  --broker-ca FILE   with --evict: the CA the broker's certificate chains to
  --json             machine-readable output

Example:
  outpost pki revoke --ca ./fleet-ca --device-id sensor-0001 --sighup $(pidof mosquitto) --evict mqtts://127.0.0.1:8883 --broker-ca ca.pem`;

const listHelp = `Usage: outpost pki list --ca DIR [--json]

Lists the devices registered in a CA directory with serial, key fingerprint and expiry.

Options:
  --ca DIR           the CA directory
  --json             machine-readable output

Example:
  outpost pki list --ca ./fleet-ca --json`;

function path(io: Io, p: string): string {
  return resolve(io.cwd, p);
}

export const pkiCommands: readonly Command[] = [
  {
    path: ['pki', 'init-ca'],
    summary: 'create a fleet certificate authority in a directory',
    help: initHelp,
    async run(args, io) {
      const { values } = parseCommandArgs(args, { out: { type: 'string' }, algorithm: { type: 'string' }, cn: { type: 'string' }, days: { type: 'string' } });
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
  },
  {
    path: ['pki', 'init-intermediate'],
    summary: 'create an intermediate CA signed by the fleet root CA',
    help: intermediateHelp,
    async run(args, io) {
      const { values } = parseCommandArgs(args, { ca: { type: 'string' }, out: { type: 'string' }, algorithm: { type: 'string' }, cn: { type: 'string' }, days: { type: 'string' } });
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
  },
  {
    path: ['pki', 'issue-device'],
    summary: 'issue a per-device certificate (and key) from the fleet CA',
    help: issueDeviceHelp,
    async run(args, io) {
      const { values } = parseCommandArgs(args, {
        ca: { type: 'string' }, 'device-id': { type: 'string' }, out: { type: 'string' }, key: { type: 'string' },
        csr: { type: 'string' }, days: { type: 'string' }, renew: { type: 'boolean', default: false },
      });
      const caDir = path(io, requireString(values['ca'], 'ca'));
      const deviceId = requireString(values['device-id'], 'device-id');
      const out = path(io, requireString(values['out'], 'out'));
      const keyFile = str(values, 'key');
      const csrFile = str(values, 'csr');
      if (keyFile !== undefined && csrFile !== undefined) throw new CliError('USAGE', 'give --key or --csr, not both', 2);
      const days = int(values['days'], 'days', 1, 36_500);
      if (deviceId.includes('/') || deviceId.includes('\\')) throw new CliError('USAGE', `--device-id: "${deviceId}" contains a path separator`, 2);
      const certPath = join(out, `${deviceId}.pem`);
      const keyPath = join(out, `${deviceId}.key`);
      for (const p of keyFile === undefined && csrFile === undefined ? [certPath, keyPath] : [certPath]) {
        if (await exists(p)) throw new CliError('FILE_EXISTS', `${p} exists; refusing to overwrite it (choose another --out)`);
      }
      const ca = await openCaDir(caDir);
      const cert = await ca.issueDevice({
        deviceId,
        renew: values['renew'] === true,
        ...(days === undefined ? {} : { validityDays: days }),
        ...(keyFile === undefined ? {} : { publicKeyPem: await readPem(path(io, keyFile), 'public key') }),
        ...(csrFile === undefined ? {} : { csrPem: await readPem(path(io, csrFile), 'CSR') }),
      });
      await mkdir(out, { recursive: true });
      if (cert.privateKeyPem !== undefined) await writeNew(keyPath, cert.privateKeyPem, 0o600);
      await writeNew(certPath, cert.chainPem, 0o644); // the bundle: + the intermediate, when there is one
      const caCopy = join(out, 'ca.pem');
      if (!(await exists(caCopy))) await writeNew(caCopy, ca.rootPem, 0o644);
      const result = {
        deviceId: cert.deviceId, certificate: certPath, key: cert.privateKeyPem === undefined ? null : keyPath, ca: caCopy,
        serialNumber: cert.serialNumber, fingerprint: cert.fingerprint, spkiFingerprint: cert.spkiFingerprint,
        notBefore: cert.notBefore.toISOString(), notAfter: cert.notAfter.toISOString(), renewed: values['renew'] === true,
      };
      emit(io, values.json, result, `Issued certificate for device "${cert.deviceId}"\n  certificate  ${certPath}\n${cert.privateKeyPem === undefined ? '' : `  private key  ${keyPath} (mode 0600: install it on the device only)\n`}  serial       ${cert.serialNumber}\n  valid until  ${result.notAfter}`);
      return 0;
    },
  },
  {
    path: ['pki', 'issue-server'],
    summary: 'issue a broker (TLS server) certificate from the fleet CA',
    help: issueServerHelp,
    async run(args, io) {
      const { values } = parseCommandArgs(args, { ca: { type: 'string' }, host: { type: 'string', multiple: true }, out: { type: 'string' }, days: { type: 'string' } });
      const caDir = path(io, requireString(values['ca'], 'ca'));
      const hosts = stringList(values, 'host');
      if (hosts.length === 0) throw new CliError('USAGE', 'missing required option --host', 2);
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
  },
  {
    path: ['pki', 'broker-config'],
    summary: 'write a Mosquitto 2.0 mTLS config, ACL and broker certificate',
    help: brokerHelp,
    async run(args, io) {
      const { values } = parseCommandArgs(args, {
        ca: { type: 'string' }, out: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, san: { type: 'string', multiple: true },
        app: { type: 'string', multiple: true }, 'max-queued': { type: 'string' }, persistence: { type: 'string' }, user: { type: 'string' }, 'no-crl': { type: 'boolean', default: false },
      });
      const caDir = path(io, requireString(values['ca'], 'ca'));
      const out = path(io, requireString(values['out'], 'out'));
      const port = int(values['port'], 'port', 1, 65_535) ?? 8883;
      const host = str(values, 'host') ?? '127.0.0.1';
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
      });
      const result = { ...files, crlPath: files.crlPath ?? null, port, host, hosts, command: `mosquitto -c ${files.confPath}` };
      emit(io, values.json, result, `Wrote a Mosquitto config for ${host}:${port} to ${out}\n  config       ${files.confPath}\n  acl          ${files.aclPath}\n  server cert  ${files.serverCertPath} (for ${hosts.join(', ')})\nStart it with: mosquitto -c ${files.confPath}`);
      return 0;
    },
  },
  {
    path: ['pki', 'revoke'],
    summary: 'revoke a device\'s certificates and rewrite the CRL',
    help: revokeHelp,
    async run(args, io) {
      const { values } = parseCommandArgs(args, { ca: { type: 'string' }, 'device-id': { type: 'string' }, sighup: { type: 'string' }, evict: { type: 'string' }, 'broker-ca': { type: 'string' } });
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
  },
  {
    path: ['pki', 'list'],
    summary: 'list the devices registered with a fleet CA',
    help: listHelp,
    async run(args, io) {
      const { values } = parseCommandArgs(args, { ca: { type: 'string' } });
      const ca = await openCaDir(path(io, requireString(values['ca'], 'ca')));
      const devices = ca.devices();
      const lines = devices.map((d) => `${d.deviceId}\t${d.current.serialNumber}\t${d.current.notAfter}${d.revoked ? '\trevoked' : ''}`);
      emit(io, values.json, { devices }, devices.length === 0 ? 'No devices registered.' : `device\tserial\tnotAfter\n${lines.join('\n')}`);
      return 0;
    },
  },
];
