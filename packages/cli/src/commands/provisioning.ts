// `outpost pki provision-claim` (a claim certificate and its ACL) and `outpost
// provisioning-service` (the reference fleet provisioning service, until SIGINT/SIGTERM).
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import mqtt from 'mqtt';
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
in the broker ACL with $aws/certificates/# and $aws/provisioning-templates/#.`,
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
          client, ca, allow, allowReprovision: values['allow-reprovision'] === true,
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
];
