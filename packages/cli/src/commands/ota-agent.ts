// `outpost ota agent`: a device's OTA agent as a program. It connects with the device's own
// certificate (mTLS; the thing name is the certificate's CN), runs @outpost/ota's agent over the
// device's OTA directory (trust state, A/B slots, journal), and exits with 75 (EX_TEMPFAIL) when
// the device must reboot: a supervisor (systemd Restart=, a test) starts it again and the trial
// image boots. The health check is a shell command; exit status 0 means healthy.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { OtaError } from '@outpost/ota';
import { coapDownloader, httpDownloader, imageDownloader, OTA_REBOOT_EXIT_CODE, runOtaAgent, streamDownloader, type DownloadReport } from '@outpost/ota/jobs';
import { connectCoap, type CoapClient } from '@outpost/device-sdk/coap';
import { CliError, defineCommand, requireString, type Command, type FlagValues, type Io } from '../command.js';
import { connect, connectionFlags } from './shadow.js';

function count(values: FlagValues, flag: string, fallback: number | undefined, min = 1): number | undefined {
  if (values[flag] === undefined) return fallback;
  const s = requireString(values[flag], flag);
  if (!/^\d+$/.test(s) || Number(s) < min) throw new CliError('USAGE', `--${flag}: expected an integer ≥ ${min}, got "${s}"`, 2);
  return Number(s);
}

/** Runs the health command; healthy when it exits 0, else its last output line is the reason. */
function healthCommand(cmd: string, env: Record<string, string>, timeoutMs: number): Promise<{ ok: true } | { ok: false; reason: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, { shell: true, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let out = '';
    const keep = (b: Buffer): void => { out = (out + b.toString('utf8')).slice(-2000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (e) => done({ ok: false, reason: `health command: ${e.message}` }));
    child.on('close', (code, signal) => {
      if (code === 0) return done({ ok: true });
      const last = out.trim().split('\n').pop() ?? '';
      done({ ok: false, reason: `health command ${signal !== null ? `killed by ${signal}` : `exited ${String(code)}`}${last === '' ? '' : `: ${last}`}`.slice(0, 200) });
    });
  });
}

async function runAgent(values: FlagValues, io: Io, signal: AbortSignal | undefined): Promise<number> {
  const dir = resolve(io.cwd, requireString(values['dir'], 'dir'));
  const capacity = count(values, 'capacity', undefined) as number;
  const hwRevision = values['hw-rev'] === undefined ? undefined : requireString(values['hw-rev'], 'hw-rev');
  const device = { deviceClass: requireString(values['device-class'], 'device-class'), ...(values['vendor'] === undefined ? {} : { vendor: requireString(values['vendor'], 'vendor') }), ...(hwRevision === undefined ? {} : { hwRevision }) };
  const healthCmd = values['health-cmd'] === undefined ? undefined : requireString(values['health-cmd'], 'health-cmd');
  const healthTimeout = count(values, 'health-timeout-ms', 60_000) as number;
  const journalEveryBytes = count(values, 'journal-every', undefined);
  const digests = count(values, 'block-digests', undefined, 0);
  const retryDelayMs = count(values, 'retry-ms', 2000) as number;
  const line = (obj: Record<string, unknown>, human: string): void => io.stdout((values.json ? JSON.stringify(obj) : human) + '\n');
  const mqtt = await connect(io, values);
  const thing = values['thing'] === undefined ? mqtt.clientId : requireString(values['thing'], 'thing');
  const coapClients = new Map<string, Promise<CoapClient>>();
  let version = 'unknown';
  const onDownloaded = (r: DownloadReport): void => line({ type: 'downloaded', kind: r.kind, source: r.source, size: r.size, resumedFrom: r.resumedFrom, fetched: r.fetched, rehashMs: Math.round(r.rehashMs), ...(r.corruptBlocks === undefined ? {} : { corruptBlocks: r.corruptBlocks }) },
    `downloaded ${r.source}: ${r.size} bytes, resumed from ${r.resumedFrom}${r.corruptBlocks ? `, ${r.corruptBlocks} corrupted block(s) fetched again` : ''}`);
  const common = { onDownloaded, ...(journalEveryBytes === undefined ? {} : { journalEveryBytes }) };
  try {
    const outcome = await runOtaAgent({
      dir, device, capacity, mqtt, thingName: thing, retryDelayMs, watch: values['watch'] === true, ...(signal === undefined ? {} : { signal }),
      downloader: imageDownloader({
        stream: streamDownloader({ mqtt, thing, ...common, ...(digests === undefined ? {} : { blockDigestsFileId: digests }) }),
        http: httpDownloader(common),
        coap: coapDownloader({ ...common, client: (origin) => {
          let c = coapClients.get(origin);
          if (c === undefined) coapClients.set(origin, (c = connectCoap(origin, { insecure: true })));
          return c;
        } }),
      }),
      healthCheck: () => (healthCmd === undefined ? Promise.resolve({ ok: true as const }) : healthCommand(healthCmd, { OUTPOST_OTA_VERSION: version, OUTPOST_HW_REVISION: hwRevision ?? '', OUTPOST_THING: thing }, healthTimeout)),
      onBoot: (b) => {
        version = b.manifest.version;
        line({ type: 'boot', version: b.manifest.version, slot: b.slot, trial: b.trial, ...(b.rolledBack === undefined ? {} : { rolledBack: b.rolledBack }) }, `booted ${b.manifest.version} from slot ${b.slot}${b.trial ? ' (trial)' : ''}`);
      },
      onEvent: (event, jobId) => line({ type: 'event', event, ...(jobId === undefined ? {} : { jobId }) }, `${event}${jobId === undefined ? '' : ` ${jobId}`}`),
    });
    line({ type: 'exit', outcome }, outcome === 'rebooting' ? `rebooting (exit ${OTA_REBOOT_EXIT_CODE})` : 'no pending job');
    return outcome === 'rebooting' ? OTA_REBOOT_EXIT_CODE : 0;
  } catch (err) {
    if (err instanceof OtaError) throw new CliError(err.code, err.message);
    throw err;
  } finally {
    for (const c of coapClients.values()) await c.then((x) => x.close()).catch(() => undefined);
    await mqtt.close();
  }
}

/** `outpost ota agent`. */
export const otaAgentCommands: readonly Command[] = [
  defineCommand({
    path: ['ota', 'agent'],
    summary: "run a device's OTA agent on the jobs channel (exits 75 to reboot)",
    about: `Runs the device's OTA agent: takes OTA jobs from the AWS IoT Jobs channel on the broker
($aws/things/THING/jobs/…, THING is the certificate's CN), verifies the manifest, downloads the
image (stream:ID over MQTT, https:// ranges, coap:// Block2; resumable after a power cut),
installs it into the inactive slot of DIR and exits with status 75 to reboot. Start it again
(systemd: Restart=always; RestartForceExitStatus=75): the trial image boots, --health-cmd runs
(exit 0 = healthy, env OUTPOST_OTA_VERSION, OUTPOST_HW_REVISION, OUTPOST_THING), and the agent
confirms it and reports SUCCEEDED, or rolls back, reports FAILED and exits 75 again. Exits 0 when
no job is pending (with --watch: runs until SIGINT/SIGTERM). DIR must be provisioned
(provisionOtaDevice of @outpost/ota/jobs). With --json: one JSON object per line (boot, event,
downloaded, exit).`,
    flags: {
      ...connectionFlags,
      dir: { type: 'string', arg: 'DIR', required: true, help: "the device's OTA directory (trust.cbor, slots/, agent/)" },
      'device-class': { type: 'string', arg: 'CLASS', required: true, help: "the device class manifests must name" },
      vendor: { type: 'string', arg: 'NAME', help: 'the vendor manifests must name' },
      'hw-rev': { type: 'string', arg: 'REV', help: "this device's hardware revision" },
      capacity: { type: 'string', arg: 'BYTES', required: true, help: 'slot size in bytes (as provisioned)' },
      thing: { type: 'string', arg: 'THING', help: "thing name (default: the certificate's CN)" },
      'health-cmd': { type: 'string', arg: 'CMD', help: 'health check of a trial image, a shell command (default: healthy once connected)' },
      'health-timeout-ms': { type: 'string', arg: 'MS', help: 'kill the health command after MS (default 60000)' },
      'block-digests': { type: 'string', arg: 'FILE_ID', help: "the stream's block digest list file id: each block checked as it arrives" },
      'journal-every': { type: 'string', arg: 'BYTES', help: 'journal the download offset every BYTES (default per transport)' },
      'retry-ms': { type: 'string', arg: 'MS', help: 'first wait after a transport error, doubling to 60 s (default 2000)' },
      watch: { type: 'boolean', help: 'after the last job, wait for the next one' },
    },
    example: 'outpost ota agent --broker mqtts://127.0.0.1:8883 --cert gw-7.pem --key gw-7.key --ca ca.pem --dir /var/lib/outpost/ota --device-class gw --capacity 16777216 --health-cmd /usr/lib/outpost/health --watch',
    async run({ values }, io) {
      if (values['watch'] !== true) return runAgent(values, io, undefined);
      const stop = new AbortController();
      const onSig = (): void => stop.abort();
      process.once('SIGINT', onSig);
      process.once('SIGTERM', onSig);
      try {
        return await runAgent(values, io, stop.signal);
      } finally {
        process.off('SIGINT', onSig);
        process.off('SIGTERM', onSig);
      }
    },
  }),
];
