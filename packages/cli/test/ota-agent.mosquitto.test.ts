// The OTA agent wired to the jobs channel, lean and in one process (the process version with
// kill -9 and restarts is ota-agent.slow.test.ts): real Mosquitto with mTLS and brokerConfig()'s
// per-device ACL, the reference jobs service, and the three image sources through runOtaAgent —
// an MQTT stream, HTTP ranges (the jobs package's file server) and CoAP Block2 from libcoap's
// coap-server. A "reboot" is runOtaAgent answering 'rebooting'; the loop starts it again.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import mqtt from 'mqtt';
import { connectCoap, type CoapClient } from '@outpost/device-sdk/coap';
import { createJobsClient, downloadStream, startFileServer, type FileServer } from '@outpost/jobs';
import { encodeOtaJobDocument } from '@outpost/ota';
import { coapDownloader, httpDownloader, imageDownloader, otaJobSource, runOtaAgent, streamDownloader, type DownloadReport } from '@outpost/ota/jobs';
import { tempDir } from '@outpost/test-peers';
import { startCoapServer, type CoapServer } from '../../device-sdk/test/fixtures/coap-server.js';
import { CAPACITY, sha256, startOtaFleet, type OtaFleet } from './fixtures/ota-fleet.js';

const tmp = tempDir('outpost-ota-agent-');
let f: OtaFleet;
let http: FileServer;
let coapServer: CoapServer;
let coap: CoapClient;
const image = new Uint8Array(randomBytes(96 * 1024 + 5));

beforeAll(async () => {
  f = await startOtaFleet(tmp.path);
  writeFileSync(join(tmp.path, 'fw.bin'), image);
  await f.streams.setStream('fw-110', { version: 1, files: [{ fileId: 0, path: join(tmp.path, 'fw.bin') }] });
  http = await startFileServer({ root: tmp.path });
  coapServer = await startCoapServer({ echo: false, dynamic: 10 });
  coap = await connectCoap(coapServer.url, { insecure: true, blockSize: 1024, maxBodySize: 4 << 20 });
  await coap.put('/fw', image);
}, 60_000);
afterAll(async () => {
  await coap?.close();
  await coapServer?.stop();
  await http?.stop();
  await f?.stop();
  tmp.cleanup();
});

/** The device's agent over its own connection, started again after each 'rebooting', until idle. */
async function runDevice(id: string): Promise<{ reports: DownloadReport[]; starts: number }> {
  const dir = await f.device(id);
  const mq = await f.connect(id);
  const reports: DownloadReport[] = [];
  const common = { onDownloaded: (r: DownloadReport) => reports.push(r) };
  const downloader = imageDownloader({
    stream: streamDownloader({ mqtt: mq, thing: id, ...common }),
    http: httpDownloader(common),
    coap: coapDownloader({ ...common, client: (origin): CoapClient => { expect(origin).toBe(coapServer.url); return coap; } }),
  });
  for (let starts = 1; starts < 6; starts++) {
    const r = await runOtaAgent({ dir, device: { vendor: 'acme', deviceClass: 'gw' }, capacity: CAPACITY, mqtt: mq, thingName: id, downloader, healthCheck: async () => ({ ok: true }), retryDelayMs: 100 });
    if (r === 'idle') return { reports, starts };
  }
  throw new Error(`${id}: still rebooting`);
}

describe('OTA agent on the jobs channel', () => {
  test.each([
    ['dev-s', 'stream', (): string => 'stream:fw-110'],
    ['dev-h', 'http', (): string => `${http.url}/fw.bin`],
    ['dev-c', 'coap', (): string => `${coapServer.url}/fw`],
  ] as const)('%s: a %s image source: job → download → trial boot → confirmed → SUCCEEDED', async (id, kind, source) => {
    await f.ops.createJob({ jobId: `fw-${id}`, document: { ...encodeOtaJobDocument({ manifest: f.manifest('1.1.0', 2, image), image: source() }) }, targets: [id] });
    const { reports, starts } = await runDevice(id);
    expect(starts).toBe(2); // install + reboot, then the trial boot confirms
    expect(reports).toEqual([expect.objectContaining({ kind, size: image.length, resumedFrom: 0, fetched: image.length })]);
    const e = await f.ops.describeJobExecution(`fw-${id}`, id);
    expect(e.status).toBe('SUCCEEDED');
    expect(e.statusDetails).toEqual({ version: '1.1.0', step: 'confirmed' });
    expect(Buffer.compare(readFileSync(join(tmp.path, id, 'slots', 'slot-b.img')).subarray(0, image.length), image)).toBe(0);
  }, 60_000);

  test('a job whose document is not an OTA job document is REJECTED with the reason, and the next job runs', async () => {
    await f.ops.createJob({ jobId: 'not-ota', document: { operation: 'reboot' }, targets: ['dev-r'] });
    await f.ops.createJob({ jobId: 'fw-dev-r', document: { ...encodeOtaJobDocument({ manifest: f.manifest('1.1.0', 2, image), image: 'stream:fw-110' }) }, targets: ['dev-r'] });
    await runDevice('dev-r');
    const refused = await f.ops.describeJobExecution('not-ota', 'dev-r');
    expect(refused.status).toBe('REJECTED');
    expect(refused.statusDetails['reason']).toBe('MALFORMED');
    expect((await f.ops.describeJobExecution('fw-dev-r', 'dev-r')).status).toBe('SUCCEEDED');
  }, 60_000);

  test('otaJobSource: expectedVersion re-read after a VersionMismatch; a repeated terminal update is \'terminal\'', async () => {
    await f.ops.createJob({ jobId: 'fw-dev-v', document: { ...encodeOtaJobDocument({ manifest: f.manifest('1.1.0', 2, image), image: 'stream:fw-110' }) }, targets: ['dev-v'] });
    await f.device('dev-v');
    const jobs = await createJobsClient({ mqtt: await f.connect('dev-v'), thingName: 'dev-v', requestTimeoutMs: 2000 });
    const source = otaJobSource(jobs);
    const job = await source.next();
    expect(job?.jobId).toBe('fw-dev-v');
    expect(job?.image).toBe('stream:fw-110');
    // Another writer moves the execution's version on behind the source's back.
    const c = await f.fleet.device('dev-v');
    const other = await mqtt.connectAsync(f.fleet.url, { clientId: 'dev-v-2', cert: c.cert, key: c.key, ca: f.fleet.ca.certificatePem, servername: 'localhost', protocolVersion: 5, reconnectPeriod: 0 });
    const jobs2 = await createJobsClient({ mqtt: other, thingName: 'dev-v', requestTimeoutMs: 2000 });
    const before = (await jobs2.describe('fw-dev-v'))!.versionNumber;
    await jobs2.update('fw-dev-v', 'IN_PROGRESS', { statusDetails: { by: 'other' } });
    expect(await source.update('fw-dev-v', 'IN_PROGRESS', { step: 'downloading' })).toBeUndefined();
    const e = (await jobs2.describe('fw-dev-v'))!;
    expect(e.versionNumber).toBe(before + 2);
    expect(e.statusDetails).toEqual({ step: 'downloading' });
    expect(await source.update('fw-dev-v', 'SUCCEEDED', { step: 'confirmed' })).toBeUndefined();
    expect(await source.update('fw-dev-v', 'SUCCEEDED', { step: 'confirmed' })).toBe('terminal');
    expect(await source.next()).toBeUndefined();
    await jobs2.close();
    await jobs.close();
    await other.endAsync(true);
  }, 60_000);

  test("the broker refuses a device another device's job and stream topics (brokerConfig's ACL)", async () => {
    const c = await f.fleet.device('dev-x');
    const client = await mqtt.connectAsync(f.fleet.url, { clientId: 'dev-x', cert: c.cert, key: c.key, ca: f.fleet.ca.certificatePem, servername: 'localhost', protocolVersion: 5, reconnectPeriod: 0 });
    const victim = await f.connect('dev-ok');
    try {
      // Its own topics work.
      const own = await createJobsClient({ mqtt: client, thingName: 'dev-x', requestTimeoutMs: 2000, maxRetries: 2 });
      expect(await own.startNext()).toBeUndefined();
      await own.close();
      // Another device's: its requests are refused by the broker (MQTT 5 PUBACK 0x87), NOT_AUTHORIZED at once …
      const other = await createJobsClient({ mqtt: client, thingName: 'dev-ok', requestTimeoutMs: 2000, maxRetries: 0 });
      await expect(other.startNext()).rejects.toMatchObject({ code: 'NOT_AUTHORIZED', value: { reasonCode: 0x87 } });
      await other.close();
      await expect(downloadStream({ mqtt: client, thing: 'dev-ok', streamId: 'fw-110', path: join(tmp.path, 'stolen.bin'), sha256: sha256(image), timeoutMs: 500, maxRetries: 1 })).rejects.toMatchObject({ code: 'NOT_AUTHORIZED', value: { reasonCode: 0x87 } });
      // … and delivers none of its messages: a notify-next for dev-ok reaches dev-ok only.
      const sniffed: string[] = [];
      client.on('message', (t) => sniffed.push(t));
      await client.subscribeAsync(['$aws/things/dev-ok/#'], { qos: 1 });
      const got: string[] = [];
      victim.on('message', (m: { topic: string }) => got.push(m.topic));
      await victim.subscribe(['$aws/things/dev-ok/jobs/notify-next'], { qos: 1 });
      await f.ops.createJob({ jobId: 'fw-next', document: { ...encodeOtaJobDocument({ manifest: f.manifest('1.2.0', 3, image), image: 'stream:fw-110' }) }, targets: ['dev-ok'] });
      for (let i = 0; i < 500 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(got).toContain('$aws/things/dev-ok/jobs/notify-next');
      expect(sniffed).toEqual([]);
    } finally {
      await client.endAsync(true);
    }
  }, 60_000);
});
