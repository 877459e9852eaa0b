// `outpost mqttsn-gateway`: config errors are one line with an exit code; a run starts, serves
// SEARCHGW and stops (--duration), printing its startup line as JSON; an aggregating gateway from a
// config file against a real Mosquitto with mTLS (fleet fixture) carries an admitted client's
// publish and prints the refusal of one outside its namespace.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { run, type Io } from '@outpost/cli';
import { createFleetCA } from '@outpost/pki';
import mqtt from 'mqtt';
import { connectMqttSn, searchGateway } from '@outpost/device-sdk/mqtt-sn';
import { startFleet } from '../../device-sdk/test/fixtures/fleet.js';
import { tempDir } from '@outpost/test-peers';

const tmp = tempDir('outpost-mqttsn-cli-');
afterAll(() => tmp.cleanup());

function io(): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, cwd: tmp.path, out: () => out, err: () => err };
}

function config(name: string, body: unknown): string {
  const p = join(tmp.path, name);
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
}

test('--help', async () => {
  const c = io();
  expect(await run(['mqttsn-gateway', '--help'], c)).toBe(0);
  expect(c.out()).toMatch(/^Usage: outpost mqttsn-gateway --config FILE/);
});

test('usage and config errors: one line, non-zero exit', async () => {
  const cases: Array<[string[], number, RegExp]> = [
    [['mqttsn-gateway'], 2, /missing required option --config/],
    [['mqttsn-gateway', '--config', 'nope.json'], 1, /cannot read config .*nope\.json: ENOENT/],
    [['mqttsn-gateway', '--config', config('bad.json', '{ not json')], 1, /not valid JSON/],
    [['mqttsn-gateway', '--config', config('nobroker.json', { udp: { port: 0 } })], 1, /broker: expected an object/],
    [['mqttsn-gateway', '--config', config('plain.json', { broker: { url: 'mqtt://127.0.0.1:1883' } })], 1, /expected mqtts:\/\//],
    [['mqttsn-gateway', '--config', config('noca.json', { broker: { url: 'mqtts://127.0.0.1:8883', ca: 'missing.pem' } })], 1, /broker\.ca: cannot read .*missing\.pem/],
    [['mqttsn-gateway', '--config', config('creds.json', { broker: { url: 'mqtts://127.0.0.1:8883' }, credentials: { nope: 1 } })], 1, /credentials: expected "dir" or "files"/],
    [['mqttsn-gateway', '--config', config('ok.json', { broker: { url: 'mqtts://127.0.0.1:8883' } }), '--duration', 'soon'], 2, /--duration: expected milliseconds/],
    [['mqttsn-gateway', '--config', config('limit.json', { udp: { host: '127.0.0.1', port: 0 }, broker: { url: 'mqtts://127.0.0.1:8883' }, maxRegistrations: 0 }), '--duration', '50'], 1, /maxRegistrations: expected an integer 1…65534, got 0/],
    [['mqttsn-gateway', '--config', config('agg-noid.json', { udp: { host: '127.0.0.1', port: 0 }, broker: { url: 'mqtts://127.0.0.1:8883' }, mode: 'aggregating', admit: ['pump-1'] }), '--duration', '50'], 1, /aggregating.*identity/],
    [['mqttsn-gateway', '--config', config('agg-mode.json', { udp: { host: '127.0.0.1', port: 0 }, broker: { url: 'mqtts://127.0.0.1:8883' }, mode: 'aggregate' }), '--duration', '50'], 1, /mode/],
    [['mqttsn-gateway', '--config', config('rcvbuf.json', { udp: { host: '127.0.0.1', port: 0, recvBufferSize: 'big' }, broker: { url: 'mqtts://127.0.0.1:8883' } }), '--duration', '50'], 1, /udp\.recvBufferSize: expected a number/],
  ];
  for (const [args, code, re] of cases) {
    const c = io();
    expect(await run(args, c), args.join(' ')).toBe(code);
    const lines = c.err().trim().split('\n');
    expect(lines, args.join(' ')).toHaveLength(1);
    expect(lines[0]).toMatch(re);
  }
  const j = io();
  expect(await run(['mqttsn-gateway', '--config', 'nope.json', '--json'], j)).toBe(1);
  expect(JSON.parse(j.out())).toMatchObject({ error: { code: 'CONFIG' } });
});

test('a run starts, answers SEARCHGW, and stops after --duration', async () => {
  const ca = await createFleetCA({ commonName: 'CLI test CA' });
  writeFileSync(join(tmp.path, 'ca.pem'), ca.certificatePem);
  const file = config('gw.json', { udp: { host: '127.0.0.1', port: 0 }, broker: { url: 'mqtts://127.0.0.1:8883', ca: 'ca.pem' }, credentials: { dir: '.' }, gwId: 9 });
  const c = io();
  const done = run(['mqttsn-gateway', '--config', file, '--json', '--duration', '1500'], c);
  const end = Date.now() + 5000;
  while (!c.out().includes('\n') && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  const start = JSON.parse(c.out().split('\n')[0] ?? '') as { type: string; udp: { port: number }; credentials: string };
  expect(start).toMatchObject({ type: 'listening', udp: { address: '127.0.0.1' } });
  expect(start.credentials).toContain('dir ');
  const found = await searchGateway({ address: '127.0.0.1', port: start.udp.port, bind: { host: '127.0.0.1' }, timeoutMs: 2000 });
  expect(found.gwId).toBe(9);
  expect(await done).toBe(0);
  const last = JSON.parse(c.out().trim().split('\n').pop() ?? '') as { type: string; stats: { datagramsIn: number } };
  expect(last).toMatchObject({ type: 'stopped' });
  expect(last.stats.datagramsIn).toBeGreaterThanOrEqual(1);
});

test('an aggregating gateway from the config: one broker identity, the admitted client publishes in its namespace, a publish outside it is refused and printed', async () => {
  const fleet = await startFleet({ services: { 'gw-cli': ['devices/#'] } });
  try {
    const gw = await fleet.device('gw-cli');
    writeFileSync(join(tmp.path, 'fleet-ca.pem'), fleet.ca.certificatePem);
    writeFileSync(join(tmp.path, 'gw-cli.pem'), gw.cert);
    writeFileSync(join(tmp.path, 'gw-cli.key'), gw.key);
    const file = config('agg.json', {
      udp: { host: '127.0.0.1', port: 0 }, broker: { url: fleet.url, ca: 'fleet-ca.pem', protocolVersion: 5 },
      identity: { clientId: 'gw-cli', cert: 'gw-cli.pem', key: 'gw-cli.key' }, mode: 'aggregating', admit: ['pump-1'],
    });
    const app = await fleet.device('app-observer');
    const observer = await mqtt.connectAsync(fleet.url, { clientId: 'app-observer', cert: app.cert, key: app.key, ca: fleet.ca.certificatePem, protocolVersion: 5, reconnectPeriod: 0 });
    const seen: string[] = [];
    observer.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
    await observer.subscribeAsync('devices/#', { qos: 1 });
    const c = io();
    const done = run(['mqttsn-gateway', '--config', file, '--json', '--duration', '4000'], c);
    const end = Date.now() + 5000;
    while (!c.out().includes('\n') && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    const start = JSON.parse(c.out().split('\n')[0] ?? '') as { type: string; mode: string; udp: { port: number } };
    expect(start).toMatchObject({ type: 'listening', mode: 'aggregating' });
    const gateway = { host: '127.0.0.1', port: start.udp.port };
    await expect(connectMqttSn({ gateway, clientId: 'pump-9', retry: { tRetryMs: 500, nRetry: 1 } })).rejects.toMatchObject({ returnCode: 3 });
    const pump = await connectMqttSn({ gateway, clientId: 'pump-1' });
    await pump.publish('devices/pump-1/flow', '42', { qos: 1 });
    await expect(pump.publish('devices/pump-2/flow', 'intruder', { qos: 1 })).rejects.toMatchObject({ code: 'REJECTED', returnCode: 3 });
    const until = Date.now() + 5000;
    while (!seen.includes('devices/pump-1/flow 42') && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    await pump.disconnect();
    expect(await done).toBe(0);
    await observer.endAsync();
    expect(seen).toEqual(['devices/pump-1/flow 42']);
    const lines = c.out().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual({ type: 'unauthorized', clientId: 'pump-1', action: 'publish', topic: 'devices/pump-2/flow' });
    expect(lines).toContainEqual(expect.objectContaining({ type: 'link', up: true }));
    expect(lines.at(-1)).toMatchObject({ type: 'stopped', stats: { unauthorized: 1, brokerLinks: 1 } });
  } finally {
    await fleet.stop();
  }
}, 60_000);
