// The OTA agent in-process: each "process lifetime" reopens the slot manager, boots and runs the
// agent; a reboot or a crash (an exception thrown at an agent event) ends the lifetime. The
// child-process kill -9 version is agent-crash.slow.test.ts.
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeOtaFileSystem, openTrustState, OtaError, readBootState, signManifest, generateKeyPair, type AgentEvent, type Clock, type ExpectedImage, type OtaDownloader, type OtaJobSource } from '../src/index.js';
import { downloadStarts, fileDownloader, fileJobSource, fileSize, prepareDevice, queueRootRotation, readJobs, startDevice } from './helpers/agent-device.js';
import { sha256 } from './helpers/release.js';

class Stop extends Error {}

async function lifecycle(dir: string, o: { healthy: boolean; crashAt?: AgentEvent | 'mid-download'; afterCrash?: () => void }): Promise<number> {
  let crashed = false;
  const crash = (): never => {
    crashed = true;
    throw new Stop('crash');
  };
  for (let lifetime = 1; lifetime <= 10; lifetime++) {
    // A crash mid-download: the download never returns and the lifetime is abandoned.
    let died = (): void => undefined;
    const death = new Promise<'dead'>((resolve) => (died = () => resolve('dead')));
    const { agent } = await startDevice(dir, {
      healthy: o.healthy,
      reboot: async () => {
        throw new Stop('reboot');
      },
      onEvent: (e) => {
        if (!crashed && e === o.crashAt) crash();
      },
      onChunk: (length, total) => {
        if (crashed || o.crashAt !== 'mid-download' || length < total / 2) return false;
        crashed = true;
        died();
        return true;
      },
    });
    try {
      const r = await Promise.race([agent.run(), death]);
      if (r === 'dead') o.afterCrash?.();
      if (r === 'idle') return lifetime;
    } catch (err) {
      if (!(err instanceof Stop)) throw err;
      if (err.message === 'crash') o.afterCrash?.();
    }
  }
  throw new Error('the device did not settle in 10 lifetimes');
}

const terminal = (dir: string): Array<{ status: string; details: Record<string, string> }> =>
  readJobs(dir).log.filter((l) => l.repeat !== true && ['SUCCEEDED', 'FAILED', 'REJECTED'].includes(l.status)).map(({ status, details }) => ({ status, details }));
const active = async (dir: string): Promise<string> => {
  const s = await readBootState(nodeOtaFileSystem(), join(dir, 'slots'));
  return `${s?.active}${s?.trial === undefined ? '' : ' +trial'}`;
};

describe('OTA agent', () => {
  it('job → download → install → trial boot → health check → confirm → SUCCEEDED', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ota-agent-'));
    await prepareDevice(dir);
    expect(await lifecycle(dir, { healthy: true })).toBe(2); // one reboot
    expect(terminal(dir)).toEqual([{ status: 'SUCCEEDED', details: { version: '1.1.0', step: 'confirmed' } }]);
    expect(readJobs(dir).log.map((l) => l.status)).toEqual(['IN_PROGRESS', 'IN_PROGRESS', 'SUCCEEDED']);
    expect(await active(dir)).toBe('b');
    expect(fileSize(join(dir, 'agent', 'image.download'))).toBe(0);
  });

  it('a failing health check reverts, reports FAILED with the reason, and reboots into the old image', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ota-agent-'));
    await prepareDevice(dir);
    expect(await lifecycle(dir, { healthy: false })).toBe(3);
    expect(terminal(dir)).toEqual([{ status: 'FAILED', details: { version: '1.1.0', reason: 'HEALTH_CHECK_FAILED', message: 'sensor bus did not come up' } }]);
    expect(await active(dir)).toBe('a');
    expect((await readBootState(nodeOtaFileSystem(), join(dir, 'slots')))?.knownBad).toEqual(['1.1.0']);
  });

  it('a manifest that does not verify is REJECTED before any byte is downloaded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ota-agent-'));
    const { image } = await prepareDevice(dir);
    const f = readJobs(dir);
    const forged = signManifest({ vendor: 'acme', deviceClass: 'gw-1', version: '1.1.0', sequence: 2, securityCounter: 1, imageSize: image.length, imageDigest: sha256(image) }, generateKeyPair());
    (f.jobs[0] as { manifest: string }).manifest = Buffer.from(forged).toString('base64');
    writeFileSync(join(dir, 'jobs.json'), JSON.stringify(f));
    expect(await lifecycle(dir, { healthy: true })).toBe(1);
    expect(terminal(dir)).toMatchObject([{ status: 'REJECTED', details: { reason: 'NOT_CURRENT' } }]); // not the one the timestamp lists
    expect(downloadStarts(dir)).toEqual([]);
  });

  const cases: Array<[AgentEvent | 'mid-download', string, boolean]> = [
    ['mid-download', 'b', true], ['installed', 'b', true], ['reboot', 'b', true], ['health', 'b', true], ['confirmed', 'b', true], ['reported', 'b', true],
    ['reverted', 'a', false], ['reported', 'a', false],
  ];
  it.each(cases)('a crash at %s resumes and ends with exactly one terminal report (slot %s, healthy %s)', async (crashAt, slot, healthy) => {
    const dir = mkdtempSync(join(tmpdir(), 'ota-agent-'));
    await prepareDevice(dir);
    await lifecycle(dir, { healthy, crashAt });
    expect(terminal(dir).map((t) => t.status)).toEqual([healthy ? 'SUCCEEDED' : 'FAILED']);
    if (!healthy) expect(terminal(dir)[0]?.details).toMatchObject({ reason: 'HEALTH_CHECK_FAILED', message: 'sensor bus did not come up' });
    expect(await active(dir)).toBe(slot);
    if (crashAt === 'mid-download') expect(downloadStarts(dir)).toEqual([0, 128 * 1024]);
    // A crash after the report and before the journal moved on sends it again: the source answers 'terminal'.
    expect(readJobs(dir).log.filter((l) => l.repeat === true)).toHaveLength(crashAt === 'reported' ? 1 : 0);
  });

  it('a job source that fails the informational IN_PROGRESS updates does not turn a good update into FAILED', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ota-agent-'));
    await prepareDevice(dir);
    const real = fileJobSource(dir);
    let failures = 0;
    const flaky: OtaJobSource = {
      next: () => real.next(),
      update: async (id, status, details) => {
        if (status === 'IN_PROGRESS') {
          failures++;
          throw new Error('broker unreachable');
        }
        return real.update(id, status, details);
      },
    };
    // A transport error ends run(); the application then starts a new agent for the same boot.
    let reuseBoot = false;
    for (let i = 0; i < 8; i++) {
      const { agent } = await startDevice(dir, { healthy: true, jobs: flaky, reuseBoot, reboot: async () => { throw new Stop('reboot'); } });
      try {
        if ((await agent.run()) === 'idle') break;
      } catch (err) {
        reuseBoot = !(err instanceof Stop);
      }
    }
    expect(failures).toBeGreaterThan(0);
    expect(terminal(dir).map((t) => t.status)).toEqual(['SUCCEEDED']);
    expect(await active(dir)).toBe('b');
  });

  it('a job that carries a root rotation: applied and persisted before the manifest is checked; signed by the new root only, REJECTED', async () => {
    const rootVersion = async (dir: string): Promise<number | undefined> =>
      (await openTrustState({ fs: nodeOtaFileSystem(), path: join(dir, 'trust.cbor') })).current().trust.roles?.rootVersion;
    const good = mkdtempSync(join(tmpdir(), 'ota-agent-'));
    await prepareDevice(good);
    queueRootRotation(good, true);
    await lifecycle(good, { healthy: true });
    expect(terminal(good).map((t) => t.status)).toEqual(['SUCCEEDED']);
    expect(await rootVersion(good)).toBe(2);
    const bad = mkdtempSync(join(tmpdir(), 'ota-agent-'));
    await prepareDevice(bad);
    queueRootRotation(bad, false);
    await lifecycle(bad, { healthy: true });
    expect(terminal(bad)).toMatchObject([{ status: 'REJECTED', details: { reason: 'UNKNOWN_KEY' } }]); // one signature, by a key root v1 does not know
    expect(await rootVersion(bad)).toBe(1);
    expect(downloadStarts(bad)).toEqual([]);
  });

  it('a transport error mid-download waits (injected clock, doubling delays) and resumes, without using up the attempts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ota-agent-'));
    await prepareDevice(dir);
    const sleeps: number[] = [];
    const clock: Clock = { now: () => 0, sleep: async (ms) => void sleeps.push(ms) };
    let cuts = 0;
    const { agent } = await startDevice(dir, {
      healthy: true, clock, reboot: async () => { throw new Stop('reboot'); },
      // The link drops four times, each after another 16 KiB chunk landed.
      onChunk: () => {
        if (cuts >= 4) return false;
        cuts++;
        throw new Error('link down');
      },
    });
    await expect(agent.run()).rejects.toThrow('reboot');
    expect(sleeps).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(downloadStarts(dir)).toEqual([0, 16_384, 32_768, 49_152, 65_536]);
    await lifecycle(dir, { healthy: true });
    expect(terminal(dir).map((t) => t.status)).toEqual(['SUCCEEDED']);
  });

  it('a resumed download whose prefix was damaged fails the digest, starts over from byte 0, and succeeds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ota-agent-'));
    await prepareDevice(dir);
    const part = join(dir, 'agent', 'image.download');
    await lifecycle(dir, {
      healthy: true, crashAt: 'mid-download',
      afterCrash: () => {
        const b = readFileSync(part);
        b[100] = (b[100] as number) ^ 0xff;
        writeFileSync(part, b);
      },
    });
    expect(downloadStarts(dir)).toEqual([0, 128 * 1024, 0]);
    expect(terminal(dir).map((t) => t.status)).toEqual(['SUCCEEDED']);
  });

  it('a downloader gets the manifest\'s digest and size; its bad transfers (OtaError DIGEST_MISMATCH) are new attempts, its other OtaErrors fail the job', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ota-agent-'));
    const { image } = await prepareDevice(dir);
    const seen: ExpectedImage[] = [];
    let calls = 0;
    const copy = fileDownloader(dir);
    const flaky: OtaDownloader = {
      async download(source, toFile, from, onBytes, expected) {
        seen.push(expected);
        if (++calls <= 2) throw new OtaError('DIGEST_MISMATCH', 'a block was damaged in transit');
        return copy.download(source, toFile, from, onBytes, expected);
      },
    };
    const { agent } = await startDevice(dir, { healthy: true, downloader: flaky, reboot: async () => { throw new Stop('reboot'); } });
    await expect(agent.run()).rejects.toThrow('reboot');
    expect(calls).toBe(3);
    expect(seen.every((e) => e.size === image.length && Buffer.compare(e.sha256, sha256(image)) === 0)).toBe(true);
    await lifecycle(dir, { healthy: true });
    expect(terminal(dir).map((t) => t.status)).toEqual(['SUCCEEDED']);

    // Always damaged: FAILED after maxDownloadAttempts (3); gone at the source: FAILED at once.
    for (const [code, want] of [['DIGEST_MISMATCH', 3], ['DOWNLOAD_FAILED', 1]] as const) {
      const d = mkdtempSync(join(tmpdir(), 'ota-agent-'));
      await prepareDevice(d);
      let n = 0;
      const broken: OtaDownloader = { download: async () => { n++; throw new OtaError(code, 'no'); } };
      const dev = await startDevice(d, { healthy: true, downloader: broken, reboot: async () => { throw new Stop('reboot'); } });
      expect(await dev.agent.run()).toBe('idle');
      expect(n).toBe(want);
      expect(terminal(d)).toEqual([{ status: 'FAILED', details: expect.objectContaining({ reason: code === 'DIGEST_MISMATCH' ? 'DOWNLOAD_FAILED' : code }) }]);
    }
  });
});

