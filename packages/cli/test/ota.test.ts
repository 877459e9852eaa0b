// `outpost ota …` through run() with a capturing Io, on real files in a temp directory.
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../src/run.js';
import { endlessFifo, killEndlessWriters } from './endless-fifo.js';

const dir = mkdtempSync(join(tmpdir(), 'outpost-ota-cli-'));
afterAll(killEndlessWriters);
const existsNot = (p: string): boolean => {
  try {
    statSync(p);
    return false;
  } catch {
    return true;
  }
};
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd: dir });
  return { code, out, err };
}
const image = Buffer.alloc(100_000);
for (let i = 0; i < image.length; i++) image[i] = (i * 31) & 0xff;
writeFileSync(join(dir, 'fw.bin'), image);

describe('outpost ota', () => {
  test('every subcommand has --help with usage, options and an example', async () => {
    for (const sub of ['keygen', 'sign', 'verify', 'inspect']) {
      const r = await cli('ota', sub, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: outpost ota ${sub}`));
      expect(r.out).toContain(`Example:\n  outpost ota ${sub}`);
    }
    expect((await cli('ota', '--help')).out).toContain('ota verify');
  });

  test('keygen → sign → inspect → verify; the private key is 0600 and never overwritten', async () => {
    const k = await cli('ota', 'keygen', '--out', 'release', '--json');
    expect(k.code).toBe(0);
    const { keyId } = JSON.parse(k.out) as { keyId: string };
    expect(keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(statSync(join(dir, 'release.key.jwk')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(dir, 'release.pub.jwk'), 'utf8'))).not.toHaveProperty('d');
    expect((await cli('ota', 'keygen', '--out', 'release')).code).toBe(1);
    // a missing parent directory is created (it used to fail with a raw ENOENT)
    expect((await cli('ota', 'keygen', '--out', 'keys/nested/release2')).code).toBe(0);
    expect(statSync(join(dir, 'keys/nested/release2.key.jwk')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'keys/nested')).mode & 0o777).toBe(0o700);

    const s = await cli('ota', 'sign', '--key', 'release.key.jwk', '--image', 'fw.bin', '--device-class', 'gw-1', '--version', '1.4.0', '--seq', '42',
      '--security-counter', '3', '--hw-rev', 'rev-a', '--hw-rev', 'rev-b', '--out', 'fw.manifest');
    expect(s.code, s.err).toBe(0);
    expect(s.out).toMatch(/^signed gw-1 1\.4\.0 \(seq 42, security counter 3\): 100000 bytes/);

    const i = JSON.parse((await cli('ota', 'inspect', 'fw.manifest', '--json')).out);
    expect(i).toMatchObject({ verified: false, alg: 'EdDSA', kid: keyId, version: '1.4.0', sequence: 42, hwRevisions: ['rev-a', 'rev-b'], imageSize: 100_000 });
    expect((await cli('ota', 'inspect', 'fw.manifest')).out).toContain('signature NOT verified');

    const v = await cli('ota', 'verify', '--manifest', 'fw.manifest', '--image', 'fw.bin', '--trust', 'release.pub.jwk', '--device-class', 'gw-1', '--hw-rev', 'rev-b', '--json');
    expect(v.code, v.err).toBe(0);
    expect(JSON.parse(v.out)).toMatchObject({ ok: true, keyId, imageBytes: 100_000 });
    expect((await cli('ota', 'verify', '--manifest', 'fw.manifest', '--image', 'fw.bin', '--trust', 'release.pub.jwk')).out).toMatch(/^OK: outpost\/gw-1 1\.4\.0/);
  });

  test('verify refuses with the reason and exit code 1', async () => {
    await cli('ota', 'keygen', '--out', 'other');
    const tampered = Buffer.from(image);
    tampered[50_000] = (tampered[50_000] as number) ^ 1;
    writeFileSync(join(dir, 'tampered.bin'), tampered);
    writeFileSync(join(dir, 'short.bin'), image.subarray(0, 1000));
    writeFileSync(join(dir, 'set.json'), JSON.stringify({ keys: [JSON.parse(readFileSync(join(dir, 'other.pub.jwk'), 'utf8'))] }));
    const base = ['ota', 'verify', '--manifest', 'fw.manifest', '--trust', 'release.pub.jwk'];
    const cases: Array<[string[], string]> = [
      [[...base, '--image', 'tampered.bin'], 'DIGEST_MISMATCH'],
      [[...base, '--image', 'short.bin'], 'IMAGE_TRUNCATED'],
      [[...base, '--image', 'fw.bin', '--device-class', 'gw-2'], 'WRONG_DEVICE_CLASS'],
      [[...base, '--image', 'fw.bin', '--hw-rev', 'rev-z'], 'WRONG_HW_REVISION'],
      [[...base, '--image', 'fw.bin', '--last-seq', '42'], 'REPLAY'],
      [[...base, '--image', 'fw.bin', '--security-counter', '4'], 'DOWNGRADE'],
      [[...base, '--image', 'fw.bin', '--running-version', '2.0.0'], 'DOWNGRADE'],
      [['ota', 'verify', '--manifest', 'fw.manifest', '--trust', 'set.json', '--image', 'fw.bin'], 'UNKNOWN_KEY'],
      [['ota', 'verify', '--manifest', 'fw.bin', '--trust', 'release.pub.jwk', '--image', 'fw.bin'], 'MANIFEST_TOO_LARGE'],
    ];
    for (const [argv, code] of cases) {
      const r = await cli(...argv, '--json');
      expect(r.code, argv.join(' ')).toBe(1);
      expect(JSON.parse(r.out).error.code, argv.join(' ')).toBe(code);
    }
    const m = readFileSync(join(dir, 'fw.manifest'));
    m[m.length - 1] = (m[m.length - 1] as number) ^ 1;
    writeFileSync(join(dir, 'bad.manifest'), m);
    const r = await cli('ota', 'verify', '--manifest', 'bad.manifest', '--trust', 'release.pub.jwk', '--image', 'fw.bin');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^outpost: refused: .*\[SIGNATURE_INVALID\]\n$/);
  });

  test('expired manifests; bad input is one line and a usage exit code', async () => {
    expect((await cli('ota', 'sign', '--key', 'release.key.jwk', '--image', 'fw.bin', '--device-class', 'gw-1', '--version', '1.5.0', '--seq', '43',
      '--expires', '2001-01-01T00:00:00Z', '--out', 'old.manifest')).code).toBe(0);
    const e = await cli('ota', 'verify', '--manifest', 'old.manifest', '--image', 'fw.bin', '--trust', 'release.pub.jwk', '--json');
    expect(JSON.parse(e.out).error.code).toBe('EXPIRED');
    const usage: string[][] = [
      ['ota', 'sign', '--key', 'release.key.jwk', '--image', 'fw.bin', '--device-class', 'gw-1', '--version', 'one', '--seq', '1', '--out', 'x'],
      ['ota', 'sign', '--key', 'release.pub.jwk', '--image', 'fw.bin', '--device-class', 'gw-1', '--version', '1.0.0', '--seq', '1', '--out', 'x'],
      ['ota', 'sign', '--key', 'release.key.jwk', '--image', 'fw.bin', '--device-class', 'gw-1', '--version', '1.0.0', '--seq', '-1', '--out', 'x'],
      ['ota', 'verify', '--manifest', 'fw.manifest', '--image', 'fw.bin'],
      ['ota', 'inspect'],
      ['ota', 'keygen', '--bogus'],
    ];
    for (const argv of usage) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
    }
    const missing = await cli('ota', 'inspect', 'nope.manifest');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('FILE_NOT_FOUND');
    expect((await cli('ota', 'inspect', 'fw.bin')).code).toBe(1);
  });

  test('manifests, keys and trust files are read with a size cap: /dev/zero and an endless FIFO fail with one line, exit 1', async () => {
    const sign = ['ota', 'sign', '--device-class', 'gw-1', '--version', '1.0.0', '--seq', '1', '--out', 'never.manifest'];
    const runs: Array<[string, { code: number; out: string; err: string }, string]> = [
      ['inspect FIFO', await cli('ota', 'inspect', endlessFifo(dir, 'm.fifo')), 'MANIFEST_TOO_LARGE'],
      ['verify --trust FIFO', await cli('ota', 'verify', '--manifest', 'fw.manifest', '--image', 'fw.bin', '--trust', endlessFifo(dir, 't.fifo')), 'FILE_TOO_LARGE'],
      ['inspect /dev/zero', await cli('ota', 'inspect', '/dev/zero'), 'MANIFEST_TOO_LARGE'],
      ['verify --manifest /dev/zero', await cli('ota', 'verify', '--manifest', '/dev/zero', '--image', 'fw.bin', '--trust', 'release.pub.jwk'), 'MANIFEST_TOO_LARGE'],
      ['verify --trust /dev/zero', await cli('ota', 'verify', '--manifest', 'fw.manifest', '--image', 'fw.bin', '--trust', '/dev/zero'), 'FILE_TOO_LARGE'],
      ['sign --key /dev/zero', await cli(...sign, '--key', '/dev/zero', '--image', 'fw.bin'), 'FILE_TOO_LARGE'],
      ['sign --image /dev/zero', await cli(...sign, '--key', 'release.key.jwk', '--image', '/dev/zero'), 'NOT_A_FILE'],
    ];
    for (const [what, r, code] of runs) {
      expect(r.code, what).toBe(1);
      expect(r.err, what).toMatch(new RegExp(`^outpost: [^\n]*\\[${code}\\]\n$`)); // one line, with the code
    }
    // the manifest cap is exact: 4096 bytes are read (and refused as not COSE), 4097 are too many
    writeFileSync(join(dir, 'cap.manifest'), Buffer.alloc(4096, 0xa0));
    writeFileSync(join(dir, 'over.manifest'), Buffer.alloc(4097, 0xa0));
    expect((await cli('ota', 'inspect', 'cap.manifest')).err).toContain('[MALFORMED]');
    expect((await cli('ota', 'inspect', 'over.manifest')).err).toMatch(/over\.manifest: larger than the 4096-byte limit \[MANIFEST_TOO_LARGE\]/);
    // --manifest, the name verify uses, works for inspect too; two manifests are a usage error
    expect((await cli('ota', 'inspect', '--manifest', 'over.manifest')).err).toContain('[MANIFEST_TOO_LARGE]');
    expect((await cli('ota', 'inspect', '--manifest', 'cap.manifest', 'over.manifest')).code).toBe(2);
    expect(existsNot(join(dir, 'never.manifest'))).toBe(true);
  }, 60_000);
});
