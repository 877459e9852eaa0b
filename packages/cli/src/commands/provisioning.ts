// `outpost pki provision-claim` (a claim certificate and its ACL) and `outpost
// provisioning-service` (the reference fleet provisioning service, until SIGINT/SIGTERM).
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import mqtt from 'mqtt';
import { rotateCertificate } from '@outpost/device-sdk';
import { claimAcl, issueClaimCertificate, issueEvictionCertificate, openCaDir, startProvisioningService, type CaDir } from '@outpost/pki';
import { CliError, defineCommand, emit, requireString, stringList, untilStopped, type Command, type Io } from '../command.js';
import { readCapped, writeNew } from '../files.js';

async function text(io: Io, value: unknown, flag: string): Promise<string> {
  return Buffer.from(await readCapped(resolve(io.cwd, requireString(value, flag)), { what: `--${flag}`, cap: 16 << 20 })).toString('utf8');
}

function ms(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const s = requireString(value, flag);
  if (!/^\d{1,9}$/.test(s)) throw new CliError('USAGE', `--${flag}: expected milliseconds, got "${s}"`, 2);
  return Number(s);
}

/** `pki revoke --evict`: takes the device's session over with an eviction certificate, then leaves. */
export async function evictSession(io: Io, ca: CaDir, deviceId: string, url: string, brokerCaFlag: unknown): Promise<boolean> {
  if (!/^mqtts:\/\//.test(url)) throw new CliError('USAGE', `--evict: expected mqtts://host:port, got "${url}"`, 2);
  const brokerCa = await text(io, brokerCaFlag, 'broker-ca');
  const e = await issueEvictionCertificate({ ca: await ca.credentials(), deviceId });
  const c = await mqtt.connectAsync(url, { cert: e.chainPem, key: e.privateKeyPem!, ca: brokerCa, protocolVersion: 5, clientId: deviceId, clean: true, reconnectPeriod: 0, rejectUnauthorized: true });
  await c.endAsync();
  return true;
}

export const provisioningCommands: readonly Command[] = [
  defineCommand({
    path: ['pki', 'provision-claim'],
    summary: 'issue a fleet provisioning claim certificate and print its ACL',
    about: `Issues a fleet provisioning claim certificate (CN claim+NAME) from the CA and prints the ACL
lines that confine it to the provisioning topics of its templates. Put the certificate and key
in the factory image; add the lines to the broker's ACL (or pass claims to brokerConfig).`,
    flags: {
      ca: { type: 'string', arg: 'DIR', required: true, help: 'the CA directory' },
      name: { type: 'string', arg: 'NAME', required: true, help: "the claim's name ([A-Za-z0-9._-], e.g. line-1)" },
      template: { type: 'string', multiple: true, arg: 'NAME', required: true, help: 'a provisioning template the claim may register with (repeatable)' },
      out: { type: 'string', arg: 'DIR', required: true, help: 'where claim-NAME.pem and claim-NAME.key (mode 0600) are written' },
      days: { type: 'string', arg: 'N', help: "validity, default 30 (a production batch, not a device's life)" },
    },
    example: 'outpost pki provision-claim --ca ./fleet-ca --name line-1 --template factory --out ./factory',
    async run({ values }, io) {
      const ca = await openCaDir(resolve(io.cwd, requireString(values['ca'], 'ca')));
      const name = requireString(values['name'], 'name');
      const templates = stringList(values, 'template');
      if (templates.length === 0) throw new CliError('USAGE', 'missing required option --template', 2);
      const days = values['days'] === undefined ? 30 : Number(requireString(values['days'], 'days'));
      if (!Number.isInteger(days) || days < 1 || days > 3650) throw new CliError('USAGE', `--days: expected 1..3650, got "${String(values['days'])}"`, 2);
      const acl = claimAcl(name, templates);
      const out = resolve(io.cwd, requireString(values['out'], 'out'));
      const claim = await issueClaimCertificate({ ca: await ca.credentials(), name, validityDays: days });
      await mkdir(out, { recursive: true });
      const certPath = join(out, `claim-${name}.pem`);
      const keyPath = join(out, `claim-${name}.key`);
      await writeNew(keyPath, claim.privateKeyPem!, 0o600);
      await writeNew(certPath, claim.chainPem, 0o644);
      const result = { name, commonName: claim.deviceId, certificate: certPath, key: keyPath, templates, serialNumber: claim.serialNumber, notAfter: claim.notAfter.toISOString(), acl };
      emit(io, values.json, result, `Issued claim "${claim.deviceId}" (valid until ${result.notAfter})\n  certificate  ${certPath}\n  private key  ${keyPath} (mode 0600)\nACL lines for the broker (the claim reaches nothing else):\n${acl.join('\n')}`);
      return 0;
    },
  }),
  defineCommand({
    path: ['provisioning-service'],
    summary: 'run the fleet provisioning (by claim) service on a broker',
    about: `Runs the fleet provisioning service (AWS IoT fleet provisioning by claim: CreateCertificateFromCsr
and RegisterThing) on the broker, holding the CA in --ca. Every request is logged, one line each
(JSON lines with --json). Runs until SIGINT or SIGTERM. The service's identity is a services entry
in the broker ACL with $aws/certificates/# and $aws/provisioning-templates/#.
It also serves certificate rotation (outpost pki rotate) on $aws/certificates/rotate/<id>/…:
a device's old certificate is revoked when it confirms the new one (--sighup PID reloads the CRL).`,
    flags: {
      ca: { type: 'string', arg: 'DIR', required: true, help: "the CA directory (its registry also keeps the service's state)" },
      broker: { type: 'string', arg: 'URL', required: true, help: 'mqtts://host:port' },
      cert: { type: 'string', arg: 'FILE', required: true, help: "the service's certificate" },
      key: { type: 'string', arg: 'FILE', required: true, help: 'its private key' },
      'broker-ca': { type: 'string', arg: 'FILE', required: true, help: "the CA the broker's certificate chains to" },
      template: { type: 'string', multiple: true, arg: 'NAME', required: true, help: 'a template (thing name = parameter SerialNumber) (repeatable)' },
      allow: { type: 'string', arg: 'FILE', required: true, help: 'the pre-provisioning allow-list: device ids (serial numbers), one per line' },
      'allow-reprovision': { type: 'boolean', help: 'issue again for an id that already has a certificate' },
      'token-ttl': { type: 'string', arg: 'MS', help: 'how long an ownership token waits for RegisterThing (default 300000)' },
      'keep-rotated': { type: 'boolean', help: "do not revoke a device's old certificate when it confirms a rotated one" },
      sighup: { type: 'string', arg: 'PID', help: 'send the broker SIGHUP whenever the CRL changes' },
      duration: { type: 'string', arg: 'MS', help: 'stop after this long (for scripts and tests)' },
    },
    example: 'outpost provisioning-service --ca ./fleet-ca --broker mqtts://127.0.0.1:8883 --cert prov.pem --key prov.key --broker-ca ca.pem \\\n  --template factory --allow serials.txt',
    async run({ values }, io) {
      const pid = values['sighup'] === undefined ? undefined : Number(requireString(values['sighup'], 'sighup'));
      if (pid !== undefined && (!Number.isInteger(pid) || pid < 2)) throw new CliError('USAGE', `--sighup: expected a process id, got "${String(values['sighup'])}"`, 2);
      const url = requireString(values['broker'], 'broker');
      if (!/^mqtts:\/\//.test(url)) throw new CliError('USAGE', `--broker: expected mqtts://host:port, got "${url}"`, 2);
      const templates = stringList(values, 'template');
      if (templates.length === 0) throw new CliError('USAGE', 'missing required option --template', 2);
      const allow = (await text(io, values['allow'], 'allow')).split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
      const ttl = ms(values['token-ttl'], 'token-ttl');
      const durationMs = ms(values['duration'], 'duration');
      const ca = await openCaDir(resolve(io.cwd, requireString(values['ca'], 'ca')));
      const [cert, key, brokerCa] = [await text(io, values['cert'], 'cert'), await text(io, values['key'], 'key'), await text(io, values['broker-ca'], 'broker-ca')];
      const client = await mqtt.connectAsync(url, { cert, key, ca: brokerCa, protocolVersion: 5, clientId: 'provisioning-service', rejectUnauthorized: true, reconnectPeriod: 1000 });
      const line = (obj: object, human: string): void => io.stdout((values.json ? JSON.stringify(obj) : human) + '\n');
      try {
        const service = await startProvisioningService({
          client, ca, allow, allowReprovision: values['allow-reprovision'] === true, revokeRotated: values['keep-rotated'] !== true,
          templates: Object.fromEntries(templates.map((t) => [t, {}])),
          ...(ttl === undefined ? {} : { tokenTtlMs: ttl }),
          ...(pid === undefined ? {} : { onCrlChanged: () => process.kill(pid, 'SIGHUP') }),
          log: (e) => line({ type: 'request', ...e }, `${new Date(e.time).toISOString()} ${e.op} ${e.outcome}${e.deviceId === undefined ? '' : ` ${e.deviceId}`}${e.errorCode === undefined ? '' : ` ${e.statusCode} ${e.errorCode}: ${e.errorMessage}`}`),
        });
        line({ type: 'listening', broker: url, templates, allowed: allow.length }, `provisioning service on ${url}: templates ${templates.join(', ')}, ${allow.length} device ids allowed`);
        await untilStopped(durationMs);
        await service.stop();
        const s = service.stats();
        line({ type: 'stopped', stats: s }, `stopped: ${s.accepted} accepted, ${s.rejected} rejected, ${s.throttled} throttled, ${s.commits} registry commits`);
        return 0;
      } finally {
        await client.endAsync();
      }
    },
  }),
  defineCommand({
    path: ['pki', 'rotate'],
    summary: "rotate this device's certificate before it expires (device side)",
    about: `Run on the device. When the certificate in --cert has less than --margin days left (default 30,
at most a third of its lifetime), makes a new key, sends a CSR over an mTLS connection made with
the current certificate to the provisioning service ($aws/certificates/rotate/<id>/create-from-csr),
stores the new pair beside the old one (<cert>.next.pem, <key>.next.key), connects with it and
confirms, then replaces --cert and --key. A power cut or a broker outage at any step leaves a
working pair; run it again to finish. The device id is the certificate's CN. Exit 0 also when
nothing was due (see "outcome").`,
    flags: {
      cert: { type: 'string', arg: 'FILE', required: true, help: "the device's certificate bundle (replaced on success)" },
      key: { type: 'string', arg: 'FILE', required: true, help: 'its private key (replaced on success, mode 0600)' },
      ca: { type: 'string', arg: 'FILE', required: true, help: "the CA the broker's certificate chains to" },
      url: { type: 'string', arg: 'URL', required: true, help: 'the broker, mqtts://host:port' },
      margin: { type: 'string', arg: 'DAYS', help: 'rotate when fewer days are left (default 30, capped at a third of the lifetime)' },
      force: { type: 'boolean', help: 'rotate now, whatever the margin' },
      timeout: { type: 'string', arg: 'MS', help: 'each connection and exchange (default 30000)' },
    },
    example: 'outpost pki rotate --cert /etc/outpost/sensor-0001.pem --key /etc/outpost/sensor-0001.key --ca /etc/outpost/ca.pem \\\n  --url mqtts://broker.example.com:8883 --json',
    async run({ values }, io) {
      const url = requireString(values['url'], 'url');
      if (!/^mqtts:\/\//.test(url)) throw new CliError('USAGE', `--url: expected mqtts://host:port, got "${url}"`, 2);
      const margin = values['margin'] === undefined ? undefined : Number(requireString(values['margin'], 'margin'));
      if (margin !== undefined && !(Number.isFinite(margin) && margin >= 0 && margin <= 36_500)) throw new CliError('USAGE', `--margin: expected days from 0 to 36500, got "${String(values['margin'])}"`, 2);
      const timeoutMs = ms(values['timeout'], 'timeout');
      const r = await rotateCertificate({
        url, ca: await text(io, values['ca'], 'ca'), certPath: resolve(io.cwd, requireString(values['cert'], 'cert')), keyPath: resolve(io.cwd, requireString(values['key'], 'key')),
        force: values['force'] === true, ...(margin === undefined ? {} : { marginDays: margin }), ...(timeoutMs === undefined ? {} : { timeoutMs }),
      });
      const result = { outcome: r.outcome, deviceId: r.deviceId, certificate: r.certPath, key: r.keyPath, certificateId: r.certificateId, notAfter: r.notAfter.toISOString(), rotateAt: r.rotateAt.toISOString() };
      emit(io, values.json, result, r.outcome === 'rotated'
        ? `Rotated "${r.deviceId}": new certificate ${r.certificateId.slice(0, 16)}… valid until ${result.notAfter}\n  certificate  ${r.certPath}\n  private key  ${r.keyPath} (mode 0600)`
        : `Not due: "${r.deviceId}"'s certificate is valid until ${result.notAfter}; rotation is due from ${result.rotateAt}.`);
      return 0;
    },
  }),
];
