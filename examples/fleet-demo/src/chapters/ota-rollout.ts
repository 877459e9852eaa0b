// Chapter: a staged rollout over the wire, not a simulation. 50 gateways, each with its own
// certificate and TLS connection to the broker and its own A/B slots on disk, run the OTA agent
// (@outpost/ota/jobs) on the AWS IoT Jobs channel; the reference jobs service and a stream server
// run beside the broker. The rollout controller dispatches canary → 1% → 10% → 100% as job
// executions; release 1.1.0 hangs the sensor bus of hardware revision rev-c: those gateways fail
// their health check and roll back on their own, and the controller halts the wave. One canary
// loses power in the middle of its download (a child process, SIGKILL) and resumes from its
// journalled offset; another receives a stream block corrupted in transit, refused by its digest.
// The waves are driven by the SDK's rollout runner, as `outpost ota rollout start` drives them:
// createRolloutRunner + runRollout (@outpost/ota) over the jobs operator client (@outpost/jobs),
// one CONTINUOUS job whose targets grow wave by wave, results read back as the execution feed,
// and the controller's abort cancels the job (QUEUED executions CANCELED; those installing finish).
import { setMaxListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import { createRolloutRunner, encodeOtaJobDocument, memoryControllerStore, openRolloutController, planRollout, runRollout, type RolloutSnapshot } from '@outpost/ota';
import type { JobsOperatorClient } from '@outpost/jobs';
import type { Chapter, DemoContext } from '../context.js';
import { ProcessGateway, provisionGateway, runGateway, startOtaBackend, type Connect, type GatewayLog, type OtaBackend, type Release } from '../ota/fleet.js';

export { OTA_JOBS_SERVICE, OTA_OPERATOR, OTA_STREAM_SERVICE } from '../ota/fleet.js';

const FLEET = 50;
const POWER_CUT = 'gw-002';
const CORRUPTED = 'gw-001';
const CANARY = ['gw-001', 'gw-002', 'gw-004'];
const STREAM = 'fw-1-1-0';
const JOB = 'gateway-1-1-0';

/** Runs the rollout with the SDK's runner until it completes or aborts; returns its end and the devices it targeted. */
async function driveRollout(ops: JobsOperatorClient, devices: readonly string[], document: ReturnType<typeof encodeOtaJobDocument>, say: (l: string) => void): Promise<{ snap: RolloutSnapshot; dispatched: string[] }> {
  const plan = planRollout({ devices, seed: 'gateway-1@1.1.0#8', canary: CANARY, policy: { successThreshold: 0.95, abortFailureRate: 0.1, abortMinFinished: 3 } });
  say(`  plan: ${plan.waves.map((w) => `${w.name} ${w.devices.length}`).join(' → ')} (abort above 10 % failures); one CONTINUOUS job ${JOB} driven by createRolloutRunner + runRollout`);
  const controller = await openRolloutController(plan, memoryControllerStore());
  const runner = createRolloutRunner({ controller, jobs: ops, jobId: JOB, document, description: 'gateway firmware 1.1.0' });
  let wave = 0;
  const snap = await runRollout(runner, {
    intervalMs: 50,
    onStep: (s) => {
      for (; wave < s.wave; wave++) say(`    wave ${s.waves[wave]?.name} done: ${s.waves[wave]?.confirmed}/${s.waves[wave]?.size} confirmed`);
    },
    onError: (e) => say(`    (a jobs call failed, retried next round: ${e.message})`),
  });
  return { snap, dispatched: controller.dispatched() };
}

/**
 * After the halt (the runner canceled the job: QUEUED executions CANCELED), the gateways already
 * installing finish: until every targeted execution is terminal and the rolled-back ones run 1.0.0 again.
 */
async function settle(ops: JobsOperatorClient, dispatched: readonly string[], lastBoot: (id: string) => string | undefined): Promise<Map<string, string>> {
  const deadline = Date.now() + 20_000;
  const end = new Map<string, string>();
  for (const id of dispatched) {
    for (;;) {
      const e = await ops.describeJobExecution(JOB, id);
      if (['SUCCEEDED', 'REJECTED', 'CANCELED'].includes(e.status) || (e.status === 'FAILED' && lastBoot(id) === '1.0.0')) {
        end.set(id, e.status);
        break;
      }
      if (Date.now() > deadline) throw new Error(`${id}: still ${e.status} after the rollout halted`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return end;
}

interface Fleet {
  readonly ids: readonly string[];
  readonly logs: Map<string, GatewayLog>;
  /** Resolves with the offset journalled when POWER_CUT lost power (after it runs again). */
  readonly cut: Promise<number>;
  readonly child: ProcessGateway;
}

const rev = (id: string): string => (Number(id.slice(3)) % 5 === 3 ? 'rev-c' : 'rev-b');

/** Provisions the gateways, sets the faults on the wire and starts every agent (POWER_CUT first, in its own process). */
async function startGateways(ctx: DemoContext, dir: string, backend: OtaBackend, factory: Release, connect: Connect, gateways: Array<Promise<void>>, signal: AbortSignal): Promise<Fleet> {
  const ids = Array.from({ length: FLEET }, (_, i) => `gw-${String(i + 1).padStart(3, '0')}`);
  await Promise.all(ids.map((id) => provisionGateway(join(dir, id), backend.key, factory)));
  // Faults on the wire: one block to CORRUPTED flipped once; POWER_CUT's blocks past 16 KiB held back until its power is cut.
  let flipped = 0;
  let held = true;
  backend.tamper((thing, b) => {
    if (thing === CORRUPTED && b.f === 0 && b.i === 3 && flipped === 0) {
      flipped++;
      const p = new Uint8Array(b.p);
      p[7]! ^= 0x20;
      return { ...b, p };
    }
    return thing === POWER_CUT && b.f === 0 && b.i >= 4 && held ? undefined : b;
  });
  const logs = new Map<string, GatewayLog>();
  const start = async (id: string, log: GatewayLog): Promise<void> => {
    const mqtt = await connect(id, ctx.url);
    gateways.push(runGateway({ id, dir: join(dir, id), hwRevision: rev(id), mqtt, signal, log, healthy: (v) => !(v === '1.1.0' && rev(id) === 'rev-c') }));
  };
  // The gateway that will lose power starts first (a process takes a moment to start), then the rest, in parallel.
  const pc = await ctx.device(POWER_CUT);
  const child = new ProcessGateway({ id: POWER_CUT, dir: join(dir, POWER_CUT), hwRevision: rev(POWER_CUT), url: ctx.url, protocolVersion: ctx.protocolVersion, cert: pc.cert, key: pc.key, ca: ctx.ca.certificatePem });
  child.start();
  logs.set(POWER_CUT, child.log);
  // Power back: the same gateway, same directory, now in this process.
  const cut = child.cutPowerMidDownload().then(async (offset) => {
    held = false;
    await start(POWER_CUT, child.log);
    return offset;
  });
  await Promise.all(ids.filter((x) => x !== POWER_CUT).map(async (id) => {
    const log: GatewayLog = { boots: [], downloads: [] };
    logs.set(id, log);
    await start(id, log);
  }));
  return { ids, logs, cut, child };
}

/** Tells what happened and writes the chapter's summary. */
function tell(ctx: DemoContext, f: Fleet, snap: RolloutSnapshot, end: ReadonlyMap<string, string>, jobStatus: string, cutAt: number, imageSize: number): void {
  const pcLog = f.logs.get(POWER_CUT) as GatewayLog;
  const resumed = pcLog.downloads[0];
  ctx.say(`  ${POWER_CUT} lost power with ${cutAt / 1024} KiB of the image journalled; after the restart it resumed at ${(resumed?.resumedFrom ?? 0) / 1024} KiB and fetched ${(resumed?.fetched ?? 0) / 1024} KiB, booted ${pcLog.boots.map((b) => `${b.version}${b.trial ? ' (trial)' : ''}`).join(' → ')}`);
  const corrupted = f.logs.get(CORRUPTED)?.downloads[0]?.corruptBlocks ?? 0;
  ctx.say(`  ${CORRUPTED}: ${corrupted} stream block corrupted in transit, refused by its SHA-256 and fetched again`);
  const rolledBack = [...f.logs].filter(([, l]) => l.boots.some((b) => b.version === '1.1.0' && b.trial) && l.boots.at(-1)?.version === '1.0.0').map(([id]) => id);
  const on110 = [...f.logs].filter(([, l]) => l.boots.at(-1)?.version === '1.1.0').length;
  ctx.say(`  ${rolledBack.length} rev-c gateway(s) failed the health check on the trial boot and rolled back to 1.0.0 by themselves (${rolledBack.join(', ')}); ${on110} run 1.1.0`);
  const canceled = [...end].filter(([, st]) => st === 'CANCELED').map(([id]) => id);
  ctx.say(`  job ${JOB} ${jobStatus}: ${canceled.length} execution(s) still QUEUED at the halt were CANCELED and stay on 1.0.0`);
  ctx.summary['otaRollout'] = {
    devices: FLEET,
    status: snap.status, haltedIn: snap.waveName, reason: snap.reason ?? null,
    waves: snap.waves.map((x) => ({ name: x.name, size: x.size, confirmed: x.confirmed, failed: x.failed })),
    notDispatched: snap.waves.slice(snap.wave + 1).reduce((n, x) => n + x.size, 0),
    rolledBack, rolledBackAllRevC: rolledBack.length > 0 && rolledBack.every((id) => rev(id) === 'rev-c'),
    running110: on110, dispatched: end.size, job: jobStatus,
    canceled: canceled.length, canceledStayed100: canceled.every((id) => f.logs.get(id)?.boots.at(-1)?.version === '1.0.0' && !(f.logs.get(id)?.boots.some((b) => b.version === '1.1.0') ?? false)),
    powerCut: { device: POWER_CUT, journalledAt: cutAt, resumedFrom: resumed?.resumedFrom ?? null, fetched: resumed?.fetched ?? null, imageSize, boots: pcLog.boots },
    corruptedBlocks: corrupted,
  };
}

export const otaRollout: Chapter = {
  id: 'otaRollout',
  title: 'OTA over the wire: 50 gateways, canary → 1% → 10% → 100%, a bad hardware revision halts the wave, a power cut mid-download',
  async run(ctx) {
    const broker = ctx.embedded;
    if (broker === undefined) {
      ctx.say('  (skipped: needs the embedded broker, whose ACL lets the jobs and stream services use every thing\'s jobs and stream topics)');
      return;
    }
    const t0 = Date.now();
    const dir = mkdtempSync(join(tmpdir(), 'outpost-demo-ota-'));
    const clients: DeviceClient[] = [];
    const connect: Connect = async (id, url) => {
      const c = await ctx.device(id);
      const client = await connectDevice({ url, cert: c.cert, key: c.key, ca: ctx.ca.certificatePem, protocolVersion: ctx.protocolVersion, reconnect: { initialDelayMs: 100, maxDelayMs: 300 } });
      clients.push(client);
      return client;
    };
    const backend = await startOtaBackend(broker.backendUrl, connect);
    const stop = new AbortController();
    setMaxListeners(FLEET * 4, stop.signal);
    const gateways: Array<Promise<void>> = [];
    let fleet: Fleet | undefined;
    try {
      const factory = backend.release('1.0.0', 1);
      const v110 = backend.release('1.1.0', 2);
      await backend.streams.setStream(STREAM, { version: 1, files: [{ fileId: 0, data: v110.image, blockDigests: { fileId: 1, blockSize: 4096 } }] });
      fleet = await startGateways(ctx, dir, backend, factory, connect, gateways, stop.signal);
      const revC = fleet.ids.filter((id) => rev(id) === 'rev-c').length;
      ctx.say(`  ${FLEET} gateways on 1.0.0, each on its own TLS connection and A/B slots on disk (${revC} of hardware revision rev-c), up in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${POWER_CUT} runs as its own process`);
      ctx.say(`  release 1.1.0: manifest ${v110.manifest.length} bytes (COSE_Sign1, Ed25519), image ${v110.image.length / 1024} KiB served as stream ${STREAM} with a block digest list`);
      const up = Date.now();
      const document = encodeOtaJobDocument({ manifest: v110.manifest, image: `stream:${STREAM}` });
      const { snap, dispatched } = await driveRollout(backend.ops, fleet.ids, document, ctx.say);
      const cutAt = await fleet.cut;
      ctx.say(`    wave ${snap.waves[snap.wave]?.name} HALTED after ${((Date.now() - up) / 1000).toFixed(1)} s: ${snap.reason ?? snap.status}; ${snap.waves.slice(snap.wave + 1).reduce((n, x) => n + x.size, 0)} gateways in later waves never got the job`);
      const logs = fleet.logs;
      const end = await settle(backend.ops, dispatched, (id) => logs.get(id)?.boots.at(-1)?.version);
      tell(ctx, fleet, snap, end, (await backend.ops.describeJob(JOB)).status, cutAt, v110.image.length);
    } finally {
      stop.abort();
      await fleet?.child.stop();
      await Promise.allSettled(gateways);
      await backend.close();
      for (const c of clients) await c.close({ force: true }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
