// `outpost buffer inspect|verify|export` end to end: run() with a capturing Io over a real buffer
// directory written by @outpost/edge-buffer, damaged on disk the way a probe would.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openBuffer } from '@outpost/edge-buffer';
import { run } from '../src/run.js';

let root: string;
const buf = (): string => join(root, 'buf');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd: root });
  return { code, out, err };
}

const segments = (): string[] => readdirSync(buf()).filter((n) => n.endsWith('.seg')).sort();

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'outpost-cli-buffer-'));
  const b = await openBuffer({ dir: buf(), maxBytes: 1 << 20, segmentBytes: 4096 });
  for (let i = 1; i <= 100; i++) await b.append(new Uint8Array(100).fill(i));
  await b.close();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('outpost buffer', () => {
  test('every subcommand has --help with usage, options and an example', async () => {
    for (const sub of ['inspect', 'verify', 'export']) {
      const r = await cli('buffer', sub, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: outpost buffer ${sub}`));
      expect(r.out).toContain('Options:');
      expect(r.out).toContain(`Example:\n  outpost buffer ${sub}`);
    }
    expect((await cli('buffer', '--help')).out).toContain('buffer verify');
  });

  test('usage errors exit 2; a missing directory exits 1 with NOT_FOUND', async () => {
    expect((await cli('buffer', 'inspect')).code).toBe(2);
    expect((await cli('buffer', 'verify', 'a', 'b')).code).toBe(2);
    expect((await cli('buffer', 'export', 'buf')).code).toBe(2);
    expect((await cli('buffer', 'inspect', 'buf', '--bogus')).code).toBe(2);
    const missing = await cli('buffer', 'inspect', 'nope', '--json');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out)).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  test('a healthy buffer: inspect and verify report every record, exit 0', async () => {
    const i = await cli('buffer', 'inspect', 'buf', '--json');
    expect(i.code).toBe(0);
    const r = JSON.parse(i.out);
    expect(r).toMatchObject({ records: 100, damage: [], lost: [], repairs: [], checkpoint: { ackedSeq: 0, highSeq: 100 } });
    expect(r.segments.length).toBe(segments().length);
    expect(r.segments.every((s: { checked: boolean }) => !s.checked)).toBe(true); // all sealed
    const v = await cli('buffer', 'verify', 'buf');
    expect(v.code).toBe(0);
    expect(v.out).toContain('100 unacknowledged');
    expect(v.out).toContain('OK');
  });

  test('a flipped byte in a sealed segment: inspect trusts the seal, verify finds it (exit 1), export copies the damaged bytes', async () => {
    const victim = join(buf(), segments()[1]!);
    const bytes = readFileSync(victim);
    const at = 24 + 116 * 3 + 40; // inside the fourth record's payload
    bytes[at] = bytes[at]! ^ 0x08;
    writeFileSync(victim, bytes);
    expect(JSON.parse((await cli('buffer', 'inspect', 'buf', '--json')).out).damage).toEqual([]);
    const v = await cli('buffer', 'verify', 'buf', '--json');
    expect(v.code).toBe(1);
    const r = JSON.parse(v.out);
    const base = Number(segments()[1]!.slice(0, 20));
    expect(r.damage).toEqual([{ file: segments()[1], offset: 24 + 116 * 3, bytes: 116, reason: expect.stringContaining('record crc') }]);
    expect(r.lost).toEqual([{ firstSeq: base + 3, lastSeq: base + 3, count: 1, reason: expect.any(String) }]);
    expect(r.records).toBe(99);
    const human = await cli('buffer', 'verify', 'buf');
    expect(human.out).toContain(`LOST         seq ${base + 3}..${base + 3}`);

    const e = await cli('buffer', 'export', 'buf', '--out', 'forensics', '--json');
    expect(e.code).toBe(0);
    const m = JSON.parse(e.out);
    const name = `${segments()[1]}.${24 + 116 * 3}-${24 + 116 * 4}.damaged`;
    expect(m.files).toEqual([{ file: name, from: segments()[1], offset: 24 + 116 * 3, bytes: 116 }]);
    expect(new Uint8Array(readFileSync(join(root, 'forensics', name)))).toEqual(new Uint8Array(bytes.subarray(24 + 116 * 3, 24 + 116 * 4)));
    expect(JSON.parse(readFileSync(join(root, 'forensics', 'manifest.json'), 'utf8')).report.lost).toEqual(r.lost);
    expect(readFileSync(victim)).toEqual(bytes); // nothing repaired
  });

  test('a zeroed segment: inspect lists the repair; after an open it is a quarantine file that export copies', async () => {
    const victim = segments()[0]!; // the oldest (a zeroed newest segment looks like a torn creation and is removed)
    const size = readFileSync(join(buf(), victim)).length;
    writeFileSync(join(buf(), victim), new Uint8Array(size));
    const i = JSON.parse((await cli('buffer', 'inspect', 'buf', '--json')).out);
    expect(i.repairs).toEqual([{ action: 'quarantine', file: victim, offset: expect.any(Number), reason: expect.any(String) }]);
    expect(existsSync(join(buf(), victim))).toBe(true);
    const b = await openBuffer({ dir: buf(), maxBytes: 1 << 20, segmentBytes: 4096 });
    await b.close();
    const after = JSON.parse((await cli('buffer', 'inspect', 'buf', '--json')).out);
    expect(after.quarantine).toEqual([{ file: `${victim}.quarantine`, bytes: size }]);
    expect(after.lost[0]).toMatchObject({ reason: expect.stringContaining('missing segment') });
    const e = await cli('buffer', 'export', 'buf', '--out', 'forensics2');
    expect(e.code).toBe(0);
    expect(e.out).toContain(`${victim}.quarantine`);
    expect(readFileSync(join(root, 'forensics2', `${victim}.quarantine`)).length).toBe(size);
  });
});
