// `outpost pki provision-claim` (a claim certificate and its ACL) and `outpost
// provisioning-service` (the reference fleet provisioning service, until SIGINT/SIGTERM).
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import mqtt from 'mqtt';
import { claimAcl, issueClaimCertificate, issueEvictionCertificate, openCaDir, startProvisioningService, type CaDir } from '@outpost/pki';
import { CliError, emit, parseCommandArgs, requireString, stringList, untilStopped, type Command, type Io } from '../command.js';
import { readCapped, writeNew } from '../files.js';

const claimHelp = `Usage: outpost pki provision-claim --ca DIR --name NAME --template NAME... --out DIR [--days N] [--json]

Issues a fleet provisioning claim certificate (CN claim+NAME) from the CA and prints the ACL
lines that confine it to the provisioning topics of its templates. Put the certificate and key
in the factory image; add the lines to the broker's ACL (or pass claims to brokerConfig).

Options:
  --ca DIR           the CA directory
  --name NAME        the claim's name ([A-Za-z0-9._-], e.g. line-1)
  --template NAME    a provisioning template the claim may register with (repeatable)
  --out DIR          where claim-NAME.pem and claim-NAME.key (mode 0600) are written
  --days N           validity, default 30 (a production batch, not a device's life)
  --json             machine-readable output

Example:
  outpost pki provision-claim --ca ./fleet-ca --name line-1 --template factory --out ./factory`;

const serviceHelp = `Usage: outpost provisioning-service --ca DIR --broker URL --cert FILE --key FILE --broker-ca FILE --template NAME... --allow FILE [--allow-reprovision] [--token-ttl MS] [--sighup PID] [--duration MS] [--json]

Runs the fleet provisioning service (AWS IoT fleet provisioning by claim: CreateCertificateFromCsr
and RegisterThing) on the broker, holding the CA in --ca. Every request is logged, one line each
(JSON lines with --json). Runs until SIGINT or SIGTERM.

Options:
  --ca DIR               the CA directory (its registry also keeps the service's state)
  --broker URL           mqtts://host:port
  --cert FILE, --key FILE  the service's identity (a services entry in the broker ACL with
                         $aws/certificates/# and $aws/provisioning-templates/#)
  --broker-ca FILE       the CA the broker's certificate chains to
  --template NAME        a template (thing name = parameter SerialNumber) (repeatable)
  --allow FILE           the pre-provisioning allow-list: device ids (serial numbers), one per line
  --allow-reprovision    issue again for an id that already has a certificate
  --token-ttl MS         how long an ownership token waits for RegisterThing (default 300000)
  --sighup PID           send the broker SIGHUP whenever the CRL changes (a pending
                         certificate replaced by a device asking again is revoked)
  --duration MS          stop after this long (for scripts and tests)
  --json                 JSON lines

Example:
  outpost provisioning-service --ca ./fleet-ca --broker mqtts://127.0.0.1:8883 --cert prov.pem --key prov.key --broker-ca ca.pem --template factory --allow serials.txt`;

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
  {
    path: ['pki', 'provision-claim'],
    summary: 'issue a fleet provisioning claim certificate and print its ACL',
    help: claimHelp,
    async run(args, io) {
      const { values } = parseCommandArgs(args, { ca: { type: 'string' }, name: { type: 'string' }, template: { type: 'string', multiple: true }, out: { type: 'string' }, days: { type: 'string' } });
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
  },
  {
    path: ['provisioning-service'],
    summary: 'run the fleet provisioning (by claim) service on a broker',
    help: serviceHelp,
    async run(args, io) {
      const { values } = parseCommandArgs(args, {
        ca: { type: 'string' }, broker: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, 'broker-ca': { type: 'string' },
        template: { type: 'string', multiple: true }, allow: { type: 'string' }, 'allow-reprovision': { type: 'boolean', default: false },
        'token-ttl': { type: 'string' }, duration: { type: 'string' }, sighup: { type: 'string' },
      });
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
  },
];
