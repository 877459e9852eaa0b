// `outpost ota root …` and `outpost ota timestamp` through run(), on real files: a 2-of-3 root
// signed in turn by two holders, a rotation refused until the old root's threshold signs it, a
// release verified with its freshness statement.
import { describe, expect, test } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../src/run.js';

const dir = mkdtempSync(join(tmpdir(), 'outpost-ota-trust-'));
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd: dir });
  return { code, out, err };
}
const errCode = (r: { out: string }): string => (JSON.parse(r.out) as { error: { code: string } }).error.code;
const tomorrow = new Date(Date.now() + 86_400_000).toISOString();

describe('outpost ota root / timestamp', () => {
  test('every new subcommand has --help with usage and an example', async () => {
    for (const sub of [['root', 'init'], ['root', 'sign'], ['root', 'inspect'], ['root', 'verify'], ['timestamp']]) {
      const r = await cli('ota', ...sub, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: outpost ota ${sub.join(' ')}`));
      expect(r.out).toContain(`Example:\n  outpost ota ${sub.join(' ')}`);
    }
  });

  test('a 2-of-3 root signed in turn, a rotation, a release with its timestamp', async () => {
    for (const k of ['r1', 'r2', 'r3', 'n1', 'release', 'ts']) expect((await cli('ota', 'keygen', '--out', k)).code).toBe(0);
    const roles = ['--root-key', 'r1.pub.jwk', '--root-key', 'r2.pub.jwk', '--root-key', 'r3.pub.jwk', '--root-threshold', '2',
      '--targets-key', 'release.pub.jwk', '--timestamp-key', 'ts.pub.jwk', '--expires', '2099-01-01'];
    const init = await cli('ota', 'root', 'init', ...roles, '--key', 'r1.key.jwk', '--out', 'root-1.part', '--json');
    expect(init.code, init.err).toBe(0);
    expect(JSON.parse(init.out)).toMatchObject({ version: 1, root: { threshold: 2 }, timestamp: { threshold: 1 } });
    // One holder's signature is below the threshold; a device refuses it.
    expect(errCode(await cli('ota', 'root', 'verify', '--trusted', 'root-1.part', '--json'))).toBe('THRESHOLD_NOT_MET');
    expect((await cli('ota', 'root', 'sign', '--root', 'root-1.part', '--key', 'r2.key.jwk', '--out', 'root-1.cbor')).code).toBe(0);
    expect(errCode(await cli('ota', 'root', 'sign', '--root', 'root-1.cbor', '--key', 'r2.key.jwk', '--out', 'twice.cbor', '--json'))).toBe('MALFORMED');
    expect(JSON.parse((await cli('ota', 'root', 'verify', '--trusted', 'root-1.cbor', '--json')).out)).toMatchObject({ ok: true, rootVersion: 1 });
    expect(JSON.parse((await cli('ota', 'root', 'inspect', 'root-1.cbor', '--json')).out).signers).toHaveLength(2);

    // Rotation to root v2 (new root key n1): signed by the new key only it is refused.
    const v2 = ['--root-key', 'n1.pub.jwk', '--targets-key', 'release.pub.jwk', '--timestamp-key', 'ts.pub.jwk', '--expires', '2099-01-01', '--version', '2'];
    expect((await cli('ota', 'root', 'init', ...v2, '--key', 'n1.key.jwk', '--out', 'root-2.new-only')).code).toBe(0);
    expect(errCode(await cli('ota', 'root', 'verify', '--trusted', 'root-1.cbor', '--root', 'root-2.new-only', '--json'))).toBe('THRESHOLD_NOT_MET');
    expect((await cli('ota', 'root', 'init', ...v2, '--key', 'n1.key.jwk', '--key', 'r1.key.jwk', '--key', 'r3.key.jwk', '--out', 'root-2.cbor')).code).toBe(0);
    expect(JSON.parse((await cli('ota', 'root', 'verify', '--trusted', 'root-1.cbor', '--root', 'root-2.cbor', '--json')).out)).toMatchObject({ versions: [1, 2] });
    expect(errCode(await cli('ota', 'root', 'verify', '--trusted', 'root-1.cbor', '--root', 'root-2.cbor', '--root', 'root-1.cbor', '--json'))).not.toBe('OK');

    // A release and its freshness statement.
    writeFileSync(join(dir, 'fw.bin'), Buffer.alloc(5000, 3));
    expect((await cli('ota', 'sign', '--key', 'release.key.jwk', '--image', 'fw.bin', '--device-class', 'gw-1', '--version', '1.0.0', '--seq', '1', '--out', 'fw.manifest')).code).toBe(0);
    const ts = await cli('ota', 'timestamp', '--key', 'ts.key.jwk', '--version', '7', '--expires', tomorrow, '--manifest', 'fw.manifest', '--out', 'ts.cbor', '--json');
    expect(ts.code, ts.err).toBe(0);
    const verify = ['ota', 'verify', '--manifest', 'fw.manifest', '--image', 'fw.bin', '--root', 'root-1.cbor', '--root', 'root-2.cbor', '--json'];
    expect(JSON.parse((await cli(...verify, '--timestamp', 'ts.cbor')).out)).toMatchObject({ ok: true, rootVersion: 2, timestampVersion: 7 });
    expect(errCode(await cli(...verify))).toBe('TIMESTAMP_REQUIRED');
    expect(errCode(await cli(...verify, '--timestamp', 'ts.cbor', '--timestamp-version', '8'))).toBe('ROLE_ROLLBACK');
    expect((await cli('ota', 'timestamp', '--key', 'ts.key.jwk', '--version', '8', '--expires', tomorrow, '--out', 'ts-empty.cbor')).code).toBe(0);
    expect(errCode(await cli(...verify, '--timestamp', 'ts-empty.cbor'))).toBe('NOT_CURRENT');
    expect(errCode(await cli('ota', 'verify', '--manifest', 'fw.manifest', '--image', 'fw.bin', '--root', 'root-1.cbor', '--trust', 'release.pub.jwk', '--json'))).toBe('USAGE');
  });

  test('bad input: a root read from /dev/zero, thresholds that do not fit, an expired statement', async () => {
    expect(errCode(await cli('ota', 'root', 'inspect', '/dev/zero', '--json'))).toBe('METADATA_TOO_LARGE');
    for (const k of ['a', 'b']) await cli('ota', 'keygen', '--out', k);
    const r = await cli('ota', 'root', 'init', '--root-key', 'a.pub.jwk', '--root-threshold', '2', '--targets-key', 'b.pub.jwk', '--expires', '2099-01-01', '--key', 'a.key.jwk', '--out', 'x.cbor');
    expect(r.code).toBe(2);
    expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
    expect((await cli('ota', 'timestamp', '--key', 'a.key.jwk', '--version', '1', '--expires', '2001-01-01', '--out', 'y.cbor')).code).toBe(2);
  });
});
