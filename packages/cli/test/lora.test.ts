// `outpost lora …` through run() with a capturing Io.
import { describe, expect, test } from 'vitest';
import { run } from '../src/run.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd: process.cwd() });
  return { code, out, err };
}

const NWK = '44024241ed4ce9a68c6a8bc055233fd3';
const APP = 'ec925802ae430ca77fd3dd73cb2cc588';
const FRAME = '40F17DBE4900020001954378762B11FF0D';

describe('outpost lora', () => {
  test('every subcommand has --help with usage, options and an example', async () => {
    for (const sub of ['toa', 'decode', 'budget', 'region', 'codec']) {
      const r = await cli('lora', sub, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: outpost lora ${sub}`));
      expect(r.out).toContain('Options:');
      expect(r.out).toContain(`Example:\n  outpost lora ${sub}`);
    }
    expect((await cli('lora', '--help')).out).toContain('lora budget');
  });

  test('toa: human and JSON', async () => {
    const r = await cli('lora', 'toa', '--sf', '12', '--bw', '125', '--cr', '4/5', '--bytes', '51');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^2465\.792 ms on air/);
    const j = await cli('lora', 'toa', '--sf', '7', '--bytes', '13', '--json');
    expect(JSON.parse(j.out)).toMatchObject({ timeOnAirMs: 46.336, lowDataRateOptimize: false, codingRate: '4/5' });
  });

  test('decode: MIC and payload with keys; bad MIC is reported, not an error', async () => {
    const r = await cli('lora', 'decode', FRAME, '--nwkskey', NWK, '--appskey', APP, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ type: 'UnconfirmedDataUp', devAddr: '49be7df1', fCnt: 2, fPort: 1, payload: '74657374', micStatus: 'valid' });
    const bad = await cli('lora', 'decode', '40F17DBE49000300012A3518AA', '--nwkskey', NWK, '--json');
    expect(bad.code).toBe(0);
    expect(JSON.parse(bad.out).micStatus).toBe('invalid');
    const human = await cli('lora', 'decode', FRAME);
    expect(human.out).toContain('micStatus   unchecked');
  });

  test('budget: EU868 SF12 51 bytes on 868.1 MHz', async () => {
    const r = await cli('lora', 'budget', '--region', 'EU868', '--sf', '12', '--bytes', '51', '--freq', '868.1');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^14 uplinks per hour/);
    const j = JSON.parse((await cli('lora', 'budget', '--region', 'EU868', '--sf', '7', '--bytes', '51', '--freq', '869.525', '--json')).out);
    expect(j).toMatchObject({ subBand: 'g3', dutyCycle: 0.1, dataRate: 5 });
    const us = JSON.parse((await cli('lora', 'budget', '--region', 'US915', '--sf', '10', '--bytes', '24', '--freq', '902.3', '--json')).out);
    expect(us).toMatchObject({ dutyCycle: null, dwellTimeMs: 400, allowed: true });
  });

  test('bad input: one line on stderr, non-zero exit, JSON error with --json', async () => {
    const cases: string[][] = [
      ['lora', 'toa', '--sf', '13', '--bytes', '10'],
      ['lora', 'toa', '--sf', '12'],
      ['lora', 'toa', '--sf', '12', '--bytes', '10', '--cr', '4/9'],
      ['lora', 'toa', '--sf', '12', '--bytes', '10', '--bogus'],
      ['lora', 'decode', 'XYZ'],
      ['lora', 'decode'],
      ['lora', 'decode', FRAME, '--nwkskey', 'abcd'],
      ['lora', 'decode', '40f17dbe4900'],
      ['lora', 'budget', '--region', 'XX', '--sf', '12', '--bytes', '51', '--freq', '868.1'],
      ['lora', 'budget', '--sf', '12', '--bytes', '51', '--freq', '868.65'],
    ];
    for (const argv of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).not.toBe(0);
      expect(r.out).toBe('');
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^outpost: /);
      const j = await cli(...argv, '--json');
      expect(JSON.parse(j.out)).toHaveProperty('error.code');
    }
    expect((await cli('lora', 'decode', '40f17dbe4900')).err).toContain('[TRUNCATED]');
  });

  test('region: every RP002-1.0.4 region prints its tables; KR920 with LBT, AS923_2 by alias', async () => {
    for (const name of ['EU868', 'US915', 'AU915', 'CN779', 'EU433', 'AS923', 'AS923-2', 'AS923-3', 'AS923-4', 'KR920', 'IN865', 'RU864']) {
      const r = await cli('lora', 'region', name, '--json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).name).toBe(name);
    }
    const kr = JSON.parse((await cli('lora', 'region', 'kr920', '--json')).out);
    expect(kr.spec).toBe('RP002-1.0.4 §2.11');
    expect(kr.listenBeforeTalk).toEqual({ rssiThresholdDbm: -65, senseTimeMs: 6 });
    expect(kr.maxAppPayloadRepeater[4]).toEqual({ dr: 4, n: 222 });
    expect(JSON.parse((await cli('lora', 'region', 'as923_2', '--json')).out).rx2).toEqual({ frequencyHz: 921_400_000, dr: 2 });
  });

  test('budget: EU433 and RU864 use their own 1 % band', async () => {
    const eu433 = JSON.parse((await cli('lora', 'budget', '--region', 'EU433', '--sf', '12', '--bytes', '51', '--freq', '433.175', '--json')).out);
    expect([eu433.subBand, eu433.dutyCycle, eu433.uplinksPerHour]).toEqual(['eu433', 0.01, 14]);
    const ru = JSON.parse((await cli('lora', 'budget', '--region', 'RU864', '--sf', '12', '--bytes', '51', '--freq', '868.9', '--json')).out);
    expect([ru.subBand, ru.dutyCycle]).toEqual(['ru864', 0.01]);
  });

  test('region: AS923 tables with the RP002-1.0.1+ RX1 mapping (up to DR7)', async () => {
    const r = await cli('lora', 'region', 'as923', '--json');
    expect(r.code).toBe(0);
    const t = JSON.parse(r.out) as { name: string; rx1DataRate: { dr: number; byOffset: number[] }[]; maxAppPayloadDwell: { dr: number; n: number | null }[] };
    expect(t.name).toBe('AS923');
    expect(t.rx1DataRate.find((x) => x.dr === 5)?.byOffset).toEqual([5, 4, 3, 2, 1, 0, 6, 7]);
    expect(t.maxAppPayloadDwell.slice(0, 3)).toEqual([{ dr: 0, n: null }, { dr: 1, n: null }, { dr: 2, n: 11 }]);
    expect((await cli('lora', 'region', 'EU868')).out).toMatch(/^EU868\nrx2|^EU868\n/);
    const bad = await cli('lora', 'region', 'XX999');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/NAME: expected EU868/);
  });

  test('codec: runs a TS013 codec file isolated; codec errors exit 1; a huge file is refused before parsing', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'outpost-codec-'));
    const codecPath = join(dir, 'lpp.js');
    writeFileSync(codecPath, 'function decodeUplink(i) { if (i.bytes[1] !== 103) return { errors: ["not a temperature"] }; return { data: { temperature: ((i.bytes[2] << 8) | i.bytes[3]) / 10 } }; }');
    const ok = await cli('lora', 'codec', '--codec', codecPath, '--port', '1', '--hex', '03670110', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toEqual({ ok: true, data: { temperature: 27.2 }, warnings: [] });
    const human = await cli('lora', 'codec', '--codec', codecPath, '--port', '1', '--hex', '03670110');
    expect(human.out).toContain('"temperature": 27.2');
    const err = await cli('lora', 'codec', '--codec', codecPath, '--port', '1', '--hex', '0368');
    expect(err.code).toBe(1);
    expect(err.err).toContain('CODEC_ERRORS: not a temperature');
    const loop = join(dir, 'loop.js');
    writeFileSync(loop, 'function decodeUplink() { for (;;) {} }');
    const t = await cli('lora', 'codec', '--codec', loop, '--port', '1', '--hex', '00', '--timeout-ms', '20', '--json');
    expect(t.code).toBe(1);
    expect(JSON.parse(t.out)).toMatchObject({ ok: false, code: 'CODEC_TIMEOUT' });
    const big = await cli('lora', 'codec', '--codec', '/dev/zero', '--port', '1', '--hex', '00');
    expect(big.code).toBe(1);
    expect(big.err).toMatch(/larger than the 1048576-byte limit/);
    const missing = await cli('lora', 'codec', '--codec', join(dir, 'nope.js'), '--port', '1', '--hex', '00');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/--codec .*nope\.js: ENOENT/);
  });
});
