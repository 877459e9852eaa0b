// The `outpost` command line itself: the command list, help, usage errors, JSON errors, demo.
import { expect, test } from 'vitest';
import { run, type Io } from '@outpost/cli';
import { commands } from '../src/commands/index.js';

function io(): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, cwd: process.cwd(), out: () => out, err: () => err };
}

test('no arguments: the command list on stdout, exit 2', async () => {
  const c = io();
  expect(await run([], c)).toBe(2);
  for (const cmd of ['pki init-ca', 'pki issue-device', 'pki broker-config', 'lora toa', 'demo']) expect(c.out()).toContain(cmd);
});

test('--help lists commands and exits 0; every command has its own --help', async () => {
  const c = io();
  expect(await run(['--help'], c)).toBe(0);
  const names = c.out().split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim().split(/\s{2,}/)[0] as string);
  expect(names.length).toBeGreaterThanOrEqual(8);
  for (const name of names.filter((n) => n !== 'demo')) {
    const h = io();
    expect(await run([...name.split(' '), '--help'], h), name).toBe(0);
    expect(h.out(), name).toMatch(/^Usage: outpost /);
  }
});

test('every help text comes from the flag table its parser uses: each flag listed, nothing else accepted', async () => {
  // demo forwards its arguments to the fleet demo's own parser, which has its own --help.
  const defined = commands.filter((c) => c.path[0] !== 'demo');
  expect(defined.length).toBeGreaterThan(30);
  for (const c of defined) {
    const name = c.path.join(' ');
    expect(c.flags, `${name} has no flag table`).toBeDefined();
    for (const [flag, spec] of Object.entries(c.flags ?? {})) {
      expect(c.help, `${name} --${flag}`).toContain(`--${flag}`);
      if (spec.required === true) expect(c.help.split('\n\n')[0], `${name}: required --${flag} in the usage lines`).toMatch(new RegExp(`(^| )--${flag} `));
    }
    // A flag the table does not have is refused by the parser with the usage exit code.
    const h = io();
    expect(await run([...c.path, '--not-in-the-table'], h), name).toBe(2);
  }
});

test('an unknown command or flag is a one-line error with exit 2', async () => {
  const a = io();
  expect(await run(['frobnicate'], a)).toBe(2);
  expect(a.err().trim().split('\n')).toHaveLength(1);
  const b = io();
  expect(await run(['pki', 'init-ca', '--bogus'], b)).toBe(2);
  expect(b.err().trim().split('\n')).toHaveLength(1);
  const j = io();
  expect(await run(['pki', 'init-ca', '--bogus', '--json'], j)).toBe(2);
  // --json: the error is a JSON object on stdout (a script reading stdout always gets one), with
  // the exit code; stderr keeps its one human line.
  expect(JSON.parse(j.out())).toEqual({ error: { code: 'USAGE', message: expect.stringContaining('--bogus'), exitCode: 2 } });
  expect(j.err().trim().split('\n')).toHaveLength(1);
});

test('outpost demo runs the fleet demo', async () => {
  const c = io();
  expect(await run(['demo', '--chapter', 'lorawanField', '--json'], c)).toBe(0);
  expect(JSON.parse(c.out())).toHaveProperty('lorawanField.micValid', true);
});

test('--version prints the package version (and as JSON); negative flag values are values, not flags', async () => {
  const { readFileSync } = await import('node:fs');
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const c = io();
  expect(await run(['--version'], c)).toBe(0);
  expect(c.out()).toBe(`outpost ${pkg.version}\n`);
  const j = io();
  expect(await run(['--version', '--json'], j)).toBe(0);
  expect(JSON.parse(j.out())).toEqual({ version: pkg.version });
  const { parseCommandArgs } = await import('../src/command.js');
  const { values } = parseCommandArgs(['--from', '-6h', '--n', '-3', '--json'], { from: { type: 'string' }, n: { type: 'string' } });
  expect([values['from'], values['n'], values.json]).toEqual(['-6h', '-3', true]);
  expect(() => parseCommandArgs(['--from', '-x'], { from: { type: 'string' } })).toThrow(/ambiguous/);
});

test('every flag or config field that names a file stops at a cap: /dev/zero is FILE_TOO_LARGE, not a hang or an out-of-memory', async () => {
  // Each command reads its files before it connects anywhere (the brokers named here do not exist).
  const cases: string[][] = [
    ['pipeline', '--broker', 'mqtts://127.0.0.1:1', '--lake', 'lake', '--ca', '/dev/zero', '--cert', 'c.pem', '--key', 'k.pem'],
    ['bridge', '--from', 'mqtts://127.0.0.1:1', '--to', 'tls://127.0.0.1:2', '--ca', '/dev/zero', '--cert', 'c.pem', '--key', 'k.pem'],
    ['console', '--broker', 'mqtts://127.0.0.1:1', '--ca', '/dev/zero', '--cert', 'c.pem', '--key', 'k.pem'],
    ['console', '--broker', 'mqtts://127.0.0.1:1', '--insecure', '--tls-cert', '/dev/zero', '--tls-key', 'k.pem'],
    ['mqttsn-gateway', '--config', '/dev/zero'],
  ];
  for (const args of cases) {
    const c = io();
    const started = Date.now();
    expect(await run([...args, '--json'], c), args.join(' ')).toBe(1);
    expect(JSON.parse(c.out()), args.join(' ')).toMatchObject({ error: { code: 'FILE_TOO_LARGE' } });
    expect(Date.now() - started, `${args.join(' ')} read far past its cap`).toBeLessThan(20_000);
  }
}, 120_000);
