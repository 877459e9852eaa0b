/**
 * The Outpost fleet demo: a fleet CA, an embedded TLS broker (or a real one), simulated
 * devices, one chapter per capability, and a short summary.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createFleetCA, issueDeviceCertificate, issueServerCertificate, type FleetCA } from '@outpost/pki';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import { CONSOLE_ID, runConsoleFleet } from './console.js';
import { cloudPipeline, PIPELINE_ID } from './chapters/cloud-pipeline.js';
import { coapDevice } from './chapters/coap-device.js';
import { lorawanField } from './chapters/lorawan-field.js';
import { mqttsnSensor } from './chapters/mqttsn-sensor.js';
import { offlineBuffer } from './chapters/offline-buffer.js';
import { OTA_JOBS_SERVICE, OTA_OPERATOR, OTA_STREAM_SERVICE, otaRollout } from './chapters/ota-rollout.js';
import { secureConnect } from './chapters/secure-connect.js';
import { SHADOW_OPERATOR_ID, SHADOW_SERVICE_ID, shadowSync } from './chapters/shadow-sync.js';
import { vibration } from './chapters/vibration.js';
import type { Chapter, DemoContext } from './context.js';

/** Every chapter, in the order they run. Later issues add theirs here. */
export const chapters: readonly Chapter[] = [secureConnect, offlineBuffer, lorawanField, mqttsnSensor, coapDevice, otaRollout, shadowSync, vibration, cloudPipeline];

const HELP = `Usage: pnpm demo [-- options]

Runs the Outpost fleet demo. With no options it needs no external service: it creates a
fleet CA, starts an embedded MQTT broker (Aedes) with TLS and client certificates required
on 127.0.0.1, and simulates a handful of devices.

Options:
  --broker URL        run against a real broker (mqtts://host:port) instead
  --ca DIR            with --broker: the fleet CA directory (outpost pki init-ca) whose
                      ca.pem the broker trusts; device certificates are issued from it
  --protocol 4|5      MQTT version for --broker (default 5; the embedded broker speaks 4)
  --pg URL            PostgreSQL for the pipeline chapter's time series (default: embedded
                      DuckDB), e.g. postgres://postgres@127.0.0.1:5432/postgres
  --influx URL        also write the pipeline chapter's time series to InfluxDB 1.x
                      (database outpost_demo), e.g. http://127.0.0.1:8086
  --console           then keep a live fleet running with the fleet console (its login URL
                      and access token printed) until Ctrl-C; embedded broker only
  --console-for MS    with --console: stop after MS milliseconds (smoke runs, tests)
  --chapter ID        run only this chapter (${chapters.map((c) => c.id).join(', ')})
  --json              print the summary as JSON
  -h, --help          this text
`;

interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Runs the demo; returns the exit code. */
export async function runDemo(args: readonly string[], io: Io): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...args].filter((a) => a !== '--'),
      options: {
        broker: { type: 'string' },
        ca: { type: 'string' },
        protocol: { type: 'string' },
        chapter: { type: 'string' },
        pg: { type: 'string' },
        influx: { type: 'string' },
        json: { type: 'boolean', default: false },
        console: { type: 'boolean', default: false },
        'console-for': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    io.stderr(`demo: ${(err as Error).message.split('\n')[0]}\n`);
    return 2;
  }
  if (values['help'] === true) {
    io.stdout(HELP);
    return 0;
  }
  const json = values['json'] === true;
  const selected = typeof values['chapter'] === 'string' ? chapters.filter((c) => c.id === values['chapter']) : chapters;
  if (selected.length === 0) {
    io.stderr(`demo: unknown chapter "${String(values['chapter'])}" (one of ${chapters.map((c) => c.id).join(', ')})\n`);
    return 2;
  }
  const say = (line: string): void => { if (!json) io.stdout(line + '\n'); };
  const started = Date.now();

  let ca: FleetCA;
  let url: string;
  let protocolVersion: 4 | 5;
  let embedded: EmbeddedBroker | undefined;
  if (typeof values['broker'] === 'string') {
    if (typeof values['ca'] !== 'string') {
      io.stderr('demo: --broker needs --ca DIR (the fleet CA the broker trusts, from `outpost pki init-ca`)\n');
      return 2;
    }
    ca = loadCa(values['ca']);
    url = values['broker'];
    protocolVersion = values['protocol'] === '4' ? 4 : 5;
    say(`Outpost fleet demo against ${url} (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'})`);
  } else {
    ca = await createFleetCA({ commonName: 'Outpost Demo Fleet CA' });
    const server = await issueServerCertificate({ ca, hosts: ['127.0.0.1', 'localhost'] });
    embedded = await startEmbeddedBroker({ caPem: ca.certificatePem, certPem: server.certificatePem, keyPem: server.privateKeyPem, apps: ['ops-console', PIPELINE_ID, CONSOLE_ID], services: [SHADOW_SERVICE_ID, SHADOW_OPERATOR_ID, CONSOLE_ID], jobServices: [OTA_JOBS_SERVICE, OTA_STREAM_SERVICE], operators: [OTA_OPERATOR] });
    url = embedded.url;
    protocolVersion = 4;
    say(`Outpost fleet demo: embedded broker on ${url} (TLS, client certificates required)`);
    say(`  fleet CA "${ca.commonName}" (${ca.algorithm}), fingerprint ${ca.fingerprint.slice(0, 23)}…`);
  }

  const issued = new Map<string, { cert: string; key: string }>();
  const summary: Record<string, unknown> = {};
  const ctx: DemoContext = {
    ca,
    url,
    protocolVersion,
    embedded,
    pg: typeof values['pg'] === 'string' ? values['pg'] : undefined,
    influx: typeof values['influx'] === 'string' ? values['influx'] : undefined,
    summary,
    say,
    async device(id) {
      let d = issued.get(id);
      if (d === undefined) {
        const c = await issueDeviceCertificate({ ca, deviceId: id });
        d = { cert: c.certificatePem, key: c.privateKeyPem as string };
        issued.set(id, d);
      }
      return d;
    },
  };
  let failed = false;
  try {
    for (const [i, chapter] of selected.entries()) {
      say(`\n${i + 1}. ${chapter.title}`);
      try {
        await chapter.run(ctx);
      } catch (err) {
        failed = true;
        summary[chapter.id] = { error: (err as Error).message };
        io.stderr(`demo: chapter "${chapter.id}" failed: ${(err as Error).message}\n`);
      }
    }
    if (values['console'] === true && embedded !== undefined) {
      say('\nFleet console');
      const ms = Number(values['console-for']);
      await runConsoleFleet(ctx, untilSignal(Number.isSafeInteger(ms) && ms > 0 ? ms : undefined), (login, token) => { if (json) io.stdout(`${JSON.stringify({ console: login, token })}\n`); });
    } else if (values['console'] === true) io.stderr('demo: --console needs the embedded broker (its ACL has the console identity)\n');
  } finally {
    await embedded?.close();
  }
  summary['certificatesIssued'] = issued.size;
  summary['seconds'] = Math.round((Date.now() - started) / 100) / 10;
  if (json) io.stdout(JSON.stringify(summary, null, 2) + '\n');
  else say(`\nSummary: ${issued.size} device certificates issued, ${selected.length} chapter(s) in ${String(summary['seconds'])} s${failed ? ', WITH FAILURES' : ''}.`);
  return failed ? 1 : 0;
}

/** Resolves on Ctrl-C (SIGINT) or SIGTERM, or after `ms`. */
function untilSignal(ms?: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = ms === undefined ? undefined : setTimeout(() => stop(), ms);
    const stop = (): void => { clearTimeout(timer); process.off('SIGINT', stop); process.off('SIGTERM', stop); resolve(); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

function loadCa(dir: string): FleetCA {
  const certificatePem = readFileSync(join(dir, 'ca.pem'), 'utf8');
  const privateKeyPem = readFileSync(join(dir, 'ca.key'), 'utf8');
  return { certificatePem, privateKeyPem, commonName: 'external', algorithm: 'ECDSA-P256', serialNumber: '', fingerprint: '', notBefore: new Date(0), notAfter: new Date(0) } as FleetCA;
}
