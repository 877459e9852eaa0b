// `outpost ota agent` end to end: real Mosquitto with mTLS and brokerConfig()'s per-device ACL,
// the reference jobs service and a stream server; each device's agent is its own process,
// restarted by a supervisor when it exits 75 (a reboot). One OTA job on three devices:
// - dev-ok: a stream block corrupted in transit is refused by the block digest and fetched
//   again; trial boot, health passes, confirmed, SUCCEEDED with statusDetails;
// - dev-bad: its hardware revision fails the health check: it rolls back on its own, FAILED;
// - dev-cut: kill -9 mid-download (blocks past 160 KiB held back until then), resumes from the
//   journalled offset and fetches only the rest.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import mqtt from 'mqtt';
import { createJobsClient, downloadStream, encodeDataBlock } from '@outpost/jobs';
import { encodeOtaJobDocument } from '@outpost/ota';
import { tempDir } from '@outpost/test-peers';
import { killMidDownload, sha256, startOtaFleet, supervise, type AgentLine, type OtaFleet } from './fixtures/ota-fleet.js';

const tmp = tempDir('outpost-ota-agent-');
let f: OtaFleet;
const image = new Uint8Array(randomBytes(512 * 1024 + 77));

beforeAll(async () => {
  f = await startOtaFleet(tmp.path);
  writeFileSync(join(tmp.path, 'fw-1.1.0.bin'), image);
  await f.streams.setStream('fw-110', { version: 1, files: [{ fileId: 0, path: join(tmp.path, 'fw-1.1.0.bin'), blockDigests: { fileId: 1, blockSize: 4096 } }] });
  // The health check: fails on the hardware revision named in bad-revision.
  writeFileSync(join(tmp.path, 'bad-revision'), 'rev-b');
  writeFileSync(join(tmp.path, 'health.cjs'), `const bad = require('fs').readFileSync(${JSON.stringify(join(tmp.path, 'bad-revision'))}, 'utf8').trim();
if (process.env.OUTPOST_HW_REVISION === bad) { console.error('sensor bus did not come up on ' + bad + ' running ' + process.env.OUTPOST_OTA_VERSION); process.exit(1); }`);
}, 60_000);
afterAll(async () => {
  await f?.stop();
  tmp.cleanup();
});

const events = (runs: AgentLine[][]): string[][] => runs.map((r) => r.filter((l) => l.type === 'event').map((l) => String(l.event)));
const boots = (runs: AgentLine[][]): Array<[unknown, unknown]> => runs.map((r) => r.filter((l) => l.type === 'boot').map((l) => [l.version, l.trial] as [unknown, unknown])[0]!);
const downloads = (runs: AgentLine[][]): AgentLine[] => runs.flat().filter((l) => l.type === 'downloaded');
const thingOf = (topic: string): string => topic.split('/')[2]!;

describe('outpost ota agent', () => {
  test('one job, three devices: corrupted block re-fetched → SUCCEEDED; bad revision → rolled back, FAILED; kill -9 mid-download → resumed → SUCCEEDED', async () => {
    const dirs = { ok: await f.device('dev-ok'), bad: await f.device('dev-bad'), cut: await f.device('dev-cut') };
    let flipped = 0;
    let gate = false; // dev-cut's blocks past 160 KiB are held back until it was killed
    f.tamper((topic, b, payload) => {
      const thing = thingOf(topic);
      if (thing === 'dev-ok' && b.f === 0 && b.i === 5 && flipped === 0) {
        flipped++;
        const p = new Uint8Array(b.p);
        p[100]! ^= 0x40;
        return encodeDataBlock({ ...b, p }, 'cbor');
      }
      if (thing === 'dev-cut' && b.f === 0 && b.i >= 40 && !gate) return undefined;
      return payload;
    });
    const doc = encodeOtaJobDocument({ manifest: f.manifest('1.1.0', 2, image), image: 'stream:fw-110' });
    await f.ops.createJob({ jobId: 'fw-1-1-0', document: doc, targets: ['dev-ok', 'dev-bad', 'dev-cut'] });
    const health = ['--health-cmd', `node ${join(tmp.path, 'health.cjs')}`];
    let cutAt = 0;
    const [ok, bad, cut] = await Promise.all([
      supervise(f, 'dev-ok', ['--hw-rev', 'rev-a', ...health]),
      supervise(f, 'dev-bad', ['--hw-rev', 'rev-b', ...health]),
      supervise(f, 'dev-cut', ['--hw-rev', 'rev-a', ...health], async (run, p) => {
        if (run !== 0) return;
        cutAt = await killMidDownload(dirs.cut, p);
        gate = true;
      }),
    ]);

    // dev-ok: download (one block refused and fetched again), install, reboot; trial boot, health, confirm, report.
    expect(ok.codes).toEqual([75, 0]);
    expect(boots(ok.runs)).toEqual([['1.0.0', false], ['1.1.0', true]]);
    expect(events(ok.runs)[0]).toEqual(['installed', 'reboot']);
    expect(events(ok.runs)[1]!.slice(0, 4)).toEqual(['health', 'confirmed', 'reported', 'idle']);
    expect(flipped).toBe(1);
    expect(downloads(ok.runs)).toEqual([expect.objectContaining({ kind: 'stream', size: image.length, resumedFrom: 0, corruptBlocks: 1 })]);
    const okExec = await f.ops.describeJobExecution('fw-1-1-0', 'dev-ok');
    expect(okExec.status).toBe('SUCCEEDED');
    expect(okExec.statusDetails).toEqual({ version: '1.1.0', step: 'confirmed' });

    // dev-bad: the trial image fails its health check; the agent reverts, reports, reboots into 1.0.0.
    expect(bad.codes).toEqual([75, 75, 0]);
    expect(boots(bad.runs)).toEqual([['1.0.0', false], ['1.1.0', true], ['1.0.0', false]]);
    expect(events(bad.runs)[1]).toEqual(['health', 'reverted', 'reported', 'idle']);
    const badExec = await f.ops.describeJobExecution('fw-1-1-0', 'dev-bad');
    expect(badExec.status).toBe('FAILED');
    expect(badExec.statusDetails).toMatchObject({ version: '1.1.0', reason: 'HEALTH_CHECK_FAILED' });
    expect(badExec.statusDetails['message']).toContain('sensor bus did not come up on rev-b');

    // dev-cut: killed with a journalled offset; the next start resumes there and fetches the rest only.
    expect(cut.codes).toEqual([null, 75, 0]);
    expect(cutAt).toBeGreaterThan(0);
    const resumed = downloads(cut.runs);
    expect(resumed).toHaveLength(1);
    expect(resumed[0]!['resumedFrom']).toBeGreaterThan(0);
    expect(resumed[0]!['resumedFrom']).toBeGreaterThanOrEqual(cutAt);
    expect(resumed[0]!['fetched']).toBeLessThan(image.length);
    expect(resumed[0]!['fetched']).toBe(image.length - (resumed[0]!['resumedFrom'] as number));
    expect(boots(cut.runs).slice(1)).toEqual([['1.0.0', false], ['1.1.0', true]]);
    expect((await f.ops.describeJobExecution('fw-1-1-0', 'dev-cut')).status).toBe('SUCCEEDED');
    expect((await f.ops.describeJob('fw-1-1-0')).executions).toEqual({ SUCCEEDED: 2, FAILED: 1 });
  }, 180_000);

});
