// The OTA chapter's fleet on the wire: the reference jobs service and a stream server on the
// embedded broker (each its own identity), gateways provisioned on disk, each running the OTA
// agent (`runOtaAgent`) on its own TLS connection — in this process, except one that runs as a
// child process so that it can lose power (SIGKILL) in the middle of a download.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import {
  createJobsOperatorClient, decodeDataBlock, encodeDataBlock, MemoryJobsStore, startJobsService, startStreamServer,
  type JobsOperatorClient, type JobsService, type StreamDataBlock, type StreamMqtt, type StreamServer,
} from '@outpost/jobs';
import { createTrustStore, generateKeyPair, signManifest, type KeyPair } from '@outpost/ota';
import { imageDownloader, provisionOtaDevice, runOtaAgent, streamDownloader } from '@outpost/ota/jobs';

export const OTA_JOBS_SERVICE = 'ota-jobs-service';
export const OTA_STREAM_SERVICE = 'ota-stream-service';
export const OTA_OPERATOR = 'ota-operator';
const CAPACITY = 256 * 1024;
const DEVICE = { vendor: 'outpost-demo', deviceClass: 'gateway-1' } as const;

export interface Release { readonly version: string; readonly image: Uint8Array; readonly manifest: Uint8Array }

/** Sees each data block the stream server publishes to `thing`: pass it, change it, or hold it back (undefined). */
export type Tamper = (thing: string, block: StreamDataBlock) => StreamDataBlock | undefined;

export interface OtaBackend {
  readonly ops: JobsOperatorClient;
  readonly service: JobsService;
  readonly streams: StreamServer;
  readonly key: KeyPair;
  release(version: string, sequence: number): Release;
  tamper(t: Tamper | undefined): void;
  close(): Promise<void>;
}

/** Connects identity `id` to `url` with its own certificate. */
export type Connect = (id: string, url: string) => Promise<DeviceClient>;

export async function startOtaBackend(backendUrl: string, connect: Connect): Promise<OtaBackend> {
  const service = await startJobsService({ mqtt: await connect(OTA_JOBS_SERVICE, backendUrl), store: new MemoryJobsStore() });
  const svc = await connect(OTA_STREAM_SERVICE, backendUrl);
  let hook: Tamper | undefined;
  // The stream server's connection, with a hook on the wire for the demo's faults.
  const wire: StreamMqtt = {
    publish: (topic, payload, options, cb) => {
      let out = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
      if (hook !== undefined && topic.endsWith('/data/cbor')) {
        const b = hook(topic.split('/')[2] ?? '', decodeDataBlock(out, 'cbor'));
        if (b === undefined) { cb?.(null); return Promise.resolve(); }
        out = encodeDataBlock(b, 'cbor');
      }
      return svc.publish(topic, out, { qos: options?.qos ?? 1 }).then(() => cb?.(null), (e: Error) => cb?.(e));
    },
    subscribe: (f, o, cb) => svc.subscribe(f, { qos: o?.qos ?? 1 }).then(() => cb?.(null), (e: Error) => cb?.(e)),
    on: (e, l) => svc.on(e, l),
  };
  const streams = await startStreamServer({ mqtt: wire, streams: {} });
  const ops = await createJobsOperatorClient({ mqtt: await connect(OTA_OPERATOR, backendUrl), operatorId: OTA_OPERATOR, requestTimeoutMs: 3000 });
  const key = generateKeyPair();
  return {
    ops, service, streams, key,
    tamper: (t) => { hook = t; },
    release(version, sequence) {
      const image = new Uint8Array(randomBytes(48 * 1024));
      const imageDigest = new Uint8Array(createHash('sha256').update(image).digest());
      return { version, image, manifest: signManifest({ ...DEVICE, version, sequence, securityCounter: 1, imageSize: image.length, imageDigest }, key) };
    },
    async close() {
      await streams.stop();
      await service.close();
      await ops.close();
    },
  };
}

/** A gateway's state on disk, provisioned with the factory release. */
export async function provisionGateway(dir: string, key: KeyPair, factory: Release): Promise<void> {
  await provisionOtaDevice({ dir, device: DEVICE, trust: createTrustStore({ signingKeys: [key.publicKey] }), capacity: CAPACITY, factory: { manifest: factory.manifest, image: factory.image } });
}

/** What a gateway did, for the story and the summary. */
export interface GatewayLog { boots: Array<{ version: string; trial: boolean }>; downloads: Array<{ resumedFrom: number; fetched: number; corruptBlocks: number }> }

/**
 * A gateway in this process: its agent on its own connection, started again after each
 * 'rebooting' (the device's restart), waiting for jobs until `signal` aborts.
 */
export async function runGateway(o: { id: string; dir: string; hwRevision: string; mqtt: DeviceClient; healthy: (version: string) => boolean; signal: AbortSignal; log: GatewayLog }): Promise<void> {
  let version = '';
  const downloader = imageDownloader({ stream: streamDownloader({ mqtt: o.mqtt, thing: o.id, blockDigestsFileId: 1, timeoutMs: 500, onDownloaded: (r) => o.log.downloads.push({ resumedFrom: r.resumedFrom, fetched: r.fetched, corruptBlocks: r.corruptBlocks ?? 0 }) }) });
  while (!o.signal.aborted) {
    const r = await runOtaAgent({
      dir: o.dir, device: { ...DEVICE, hwRevision: o.hwRevision }, capacity: CAPACITY, mqtt: o.mqtt, thingName: o.id, downloader, watch: true, signal: o.signal,
      retryDelayMs: 100, jobs: { requestTimeoutMs: 2000 },
      healthCheck: async () => (o.healthy(version) ? { ok: true } : { ok: false, reason: `${o.hwRevision}: sensor bus did not come up under ${version}` }),
      onBoot: (b) => { version = b.manifest.version; o.log.boots.push({ version, trial: b.trial }); },
    });
    if (r === 'idle') return;
  }
}

/**
 * The first life of the gateway that loses power: its agent in a child process, which the
 * chapter kills with SIGKILL in the middle of the download (the power cut). When the power is
 * back, the same directory is run again (`runGateway`), and the download resumes from its journal.
 */
export class ProcessGateway {
  readonly log: GatewayLog = { boots: [], downloads: [] };
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(private readonly o: { id: string; dir: string; hwRevision: string; url: string; protocolVersion: 4 | 5; cert: string; key: string; ca: string }) {}

  start(): void {
    const files = { certFile: join(this.o.dir, 'device.pem'), keyFile: join(this.o.dir, 'device.key'), caFile: join(this.o.dir, 'ca.pem') };
    writeFileSync(files.certFile, this.o.cert);
    writeFileSync(files.keyFile, this.o.key, { mode: 0o600 });
    writeFileSync(files.caFile, this.o.ca);
    const args = JSON.stringify({ url: this.o.url, id: this.o.id, dir: this.o.dir, hwRevision: this.o.hwRevision, capacity: CAPACITY, protocolVersion: this.o.protocolVersion, ...files });
    const root = join(import.meta.dirname, '..', '..', '..', '..');
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outpost/source', join(import.meta.dirname, 'device-process.ts'), args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    this.child = child;
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const l = JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
        buf = buf.slice(i + 1);
        if (l['type'] === 'boot') this.log.boots.push({ version: String(l['version']), trial: l['trial'] === true });
      }
    });
    this.exited = new Promise((r) => child.on('exit', (c) => r(c)));
  }

  /** Cuts the power (SIGKILL) once the download journal names a durable offset > 0; resolves with that offset after the process is gone. */
  async cutPowerMidDownload(): Promise<number> {
    const journal = join(this.o.dir, 'agent', 'image.download.journal');
    for (;;) {
      if (existsSync(journal)) {
        try {
          const offset = (JSON.parse(readFileSync(journal, 'utf8')) as { offset: number }).offset;
          if (offset > 0) {
            this.child?.kill('SIGKILL');
            await this.exited;
            return offset;
          }
        } catch {
          // being replaced: read again
        }
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Ends the process if it still runs. */
  async stop(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }
}
