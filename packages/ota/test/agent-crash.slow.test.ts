// The OTA agent as a child process, SIGKILLed (a real kill -9) at each step, restarted until it
// is idle: it ends in the right slot with exactly one terminal report. A "reboot" is the process
// exiting with 75 and being started again (the slot manager's boot() runs at every start).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeOtaFileSystem, readBootState } from '../src/index.js';
import { downloadStarts, prepareDevice, readJobs } from './helpers/agent-device.js';

const fixture = join(import.meta.dirname, 'fixtures', 'agent-process.ts');

function lifetime(dir: string, crashAt: string, healthy: boolean): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@outpost/source', '--import', 'tsx', fixture, dir, crashAt, healthy ? '1' : '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => (code !== null && code !== 0 && code !== 75 ? reject(new Error(`agent exited ${code}: ${err}`)) : resolve({ code, signal })));
  });
}

async function untilIdle(dir: string, crashAt: string, healthy: boolean): Promise<string[]> {
  const ends: string[] = [];
  for (let i = 0; i < 8; i++) {
    const r = await lifetime(dir, crashAt, healthy);
    ends.push(r.signal ?? String(r.code));
    if (r.code === 0) return ends;
  }
  throw new Error(`not idle after 8 starts: ${ends.join(' ')}`);
}

describe('OTA agent, kill -9 at each step (child processes)', () => {
  const cases: Array<[string, boolean, string]> = [
    ['mid-download', true, 'b'], ['installed', true, 'b'], ['reboot', true, 'b'], ['health', true, 'b'], ['confirmed', true, 'b'], ['reported', true, 'b'],
    ['reverted', false, 'a'],
  ];
  it.each(cases)('SIGKILL at %s (healthy %s): restarted, ends in slot %s with one terminal report', async (crashAt, healthy, slot) => {
    const dir = mkdtempSync(join(tmpdir(), 'ota-agent-kill-'));
    await prepareDevice(dir);
    const ends = await untilIdle(dir, crashAt, healthy);
    expect(ends).toContain('SIGKILL');
    const terminal = readJobs(dir).log.filter((l) => l.repeat !== true && l.status !== 'IN_PROGRESS');
    expect(terminal.map((l) => l.status)).toEqual([healthy ? 'SUCCEEDED' : 'FAILED']);
    if (!healthy) expect(terminal[0]?.details).toMatchObject({ reason: 'HEALTH_CHECK_FAILED', message: 'sensor bus did not come up' });
    const boot = await readBootState(nodeOtaFileSystem(), join(dir, 'slots'));
    expect(boot?.active).toBe(slot);
    expect(boot?.trial).toBeUndefined();
    if (crashAt === 'mid-download') {
      const starts = downloadStarts(dir);
      expect(starts[0]).toBe(0);
      expect(starts[1]).toBeGreaterThan(0); // resumed from its offset, not from 0
    }
  }, 60_000);
});
