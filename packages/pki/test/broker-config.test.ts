// brokerConfig: the generated text, then the real peer: Mosquitto 2.0 loads it, and
// mosquitto_pub / mosquitto_sub with fleet certificates show the ACL confines each device.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { canConnect, freePort } from '@outpost/test-peers';
import { brokerConfig, createFleetCA, issueDeviceCertificate, issueServerCertificate, type BrokerConfigOptions, type FleetCA } from '@outpost/pki';

const MOSQUITTO = '/usr/sbin/mosquitto';
const base: BrokerConfigOptions = { caPath: '/etc/o/ca.pem', serverCertPath: '/etc/o/server.pem', serverKeyPath: '/etc/o/server.key', aclPath: '/etc/o/acl', port: 8883 };

describe('brokerConfig text', () => {
  test('TLS listener with client certificates, identity as username, commented settings', () => {
    const { mosquittoConf: c, acl } = brokerConfig({ ...base, host: '127.0.0.1' });
    for (const line of [
      'listener 8883 127.0.0.1', 'cafile /etc/o/ca.pem', 'certfile /etc/o/server.pem', 'keyfile /etc/o/server.key',
      'tls_version tlsv1.2', 'require_certificate true', 'use_identity_as_username true', 'allow_anonymous false',
      'acl_file /etc/o/acl', 'set_tcp_nodelay true', 'max_queued_messages 100000', 'max_inflight_messages 20',
      'persistence false', 'allow_zero_length_clientid false', 'use_username_as_clientid true',
    ]) expect(c.split('\n')).toContain(line);
    expect(c).toMatch(/47 ms without it and 5\.7 ms/);
    expect(c).toMatch(/default of 1000\n# silently dropped 13-27%/);
    expect(c).not.toContain('crlfile');
    expect(c).not.toMatch(/^listener 1883/m);
    // Every setting line is preceded by a comment line (or another setting of the same group).
    const lines = c.split('\n');
    const firstSetting = lines.findIndex((l) => l !== '' && !l.startsWith('#'));
    expect(lines[firstSetting - 1]?.startsWith('#')).toBe(true);
    expect(acl.split('\n')).toEqual(expect.arrayContaining(['pattern readwrite devices/%u/#', 'pattern readwrite $aws/things/%u/shadow/#']));
    expect(acl).not.toContain('user ');
  });

  test('options: all interfaces, crlfile, persistence, limits, TLS 1.3, apps', () => {
    const { mosquittoConf: c, acl } = brokerConfig({
      ...base, crlPath: '/etc/o/crl.pem', persistence: { location: '/var/lib/o' }, maxQueuedMessages: 0,
      maxInflightMessages: 100, tlsVersion: 'tlsv1.3', apps: ['dashboard', 'rules'],
    });
    expect(c.split('\n')).toEqual(expect.arrayContaining(['listener 8883', 'crlfile /etc/o/crl.pem', 'persistence true',
      'persistence_location /var/lib/o/', 'max_queued_messages 0', 'max_inflight_messages 100', 'tls_version tlsv1.3']));
    expect(acl).toContain('user dashboard\ntopic read devices/+/#\ntopic read $aws/things/+/shadow/#');
    expect(acl).toContain('user rules\n');
    expect(c).toContain('use_username_as_clientid true');
    const unbound = brokerConfig({ ...base, bindClientId: false }).mosquittoConf;
    expect(unbound).not.toMatch(/^use_username_as_clientid/m);
    expect(unbound).toContain('# Client ids are not tied to certificates (bindClientId: false)');
  });

  test('wrong types and bad values', () => {
    expect(() => brokerConfig(null as never)).toThrow(TypeError);
    expect(() => brokerConfig({ ...base, caPath: 1 } as never)).toThrow(TypeError);
    expect(() => brokerConfig({ ...base, caPath: 'ca.pem' })).toThrow(/absolute path/);
    expect(() => brokerConfig({ ...base, caPath: 'ca.pem' })).toThrow(RangeError);
    expect(() => brokerConfig({ ...base, aclPath: '/x\nlistener 1883' })).toThrow(RangeError);
    expect(() => brokerConfig({ ...base, port: 0 })).toThrow(RangeError);
    expect(() => brokerConfig({ ...base, port: '8883' } as never)).toThrow(TypeError);
    expect(() => brokerConfig({ ...base, port: undefined } as never)).toThrow(TypeError);
    expect(() => brokerConfig({ ...base, host: '0.0.0.0 1883' })).toThrow(RangeError);
    expect(() => brokerConfig({ ...base, maxQueuedMessages: -1 })).toThrow(RangeError);
    expect(() => brokerConfig({ ...base, tlsVersion: 'tlsv1.1' } as never)).toThrow(RangeError);
    expect(() => brokerConfig({ ...base, persistence: true } as never)).toThrow(TypeError);
    expect(() => brokerConfig({ ...base, apps: 'dashboard' } as never)).toThrow(TypeError);
    expect(() => brokerConfig({ ...base, apps: ['a/b'] })).toThrow(RangeError);
    for (const bad of ['a b', 'a*', 'é', '$SYS', 'a%u']) expect(() => brokerConfig({ ...base, apps: [bad] })).toThrow(RangeError);
    expect(() => brokerConfig({ ...base, bindClientId: 'yes' } as never)).toThrow(TypeError);
    expect(() => brokerConfig({ ...base, user: 'root\nlistener 1883' })).toThrow(RangeError);
    expect(brokerConfig({ ...base, user: 'mqtt' }).mosquittoConf.split('\n')).toContain('user mqtt');
    expect(() => brokerConfig({ ...base, services: ['jobs'] } as never)).toThrow(TypeError);
    expect(() => brokerConfig({ ...base, services: { jobs: [] } })).toThrow(TypeError);
    expect(() => brokerConfig({ ...base, services: { 'a/b': ['x'] } })).toThrow(RangeError);
    for (const bad of ['', 'a/#/b', 'a/b#', 'a+/b', 'x\ntopic readwrite #', 'a\0']) {
      expect(() => brokerConfig({ ...base, services: { jobs: [bad] } })).toThrow(RangeError);
    }
    expect(() => brokerConfig({ ...base, services: { jobs: [7] } } as never)).toThrow(TypeError);
  });

  test('websockets: a second listener with the same TLS and identity rules', () => {
    const { mosquittoConf } = brokerConfig({ ...base, crlPath: '/etc/o/crl.pem', websockets: { port: 8443, host: '0.0.0.0' } });
    const ws = mosquittoConf.slice(mosquittoConf.indexOf('listener 8443 0.0.0.0'));
    expect(ws.split('\n').filter((l) => !l.startsWith('#') && l !== '')).toEqual([
      'listener 8443 0.0.0.0', 'protocol websockets', 'cafile /etc/o/ca.pem', 'certfile /etc/o/server.pem', 'keyfile /etc/o/server.key',
      'tls_version tlsv1.2', 'require_certificate true', 'use_identity_as_username true', 'use_username_as_clientid true', 'crlfile /etc/o/crl.pem',
    ]);
    expect(mosquittoConf.indexOf('listener 8883')).toBeLessThan(mosquittoConf.indexOf('listener 8443'));
    expect(() => brokerConfig({ ...base, websockets: { port: 8883 } })).toThrow(/main listener/);
    expect(() => brokerConfig({ ...base, websockets: 8443 } as never)).toThrow(TypeError);
    expect(() => brokerConfig({ ...base, websockets: { port: 0 } })).toThrow(RangeError);
    expect(() => brokerConfig({ ...base, websockets: { port: 8443, host: 'a b' } })).toThrow(RangeError);
  });

  test('services: each identity reads and writes exactly its filters; devices get their own jobs and streams topics', () => {
    const { acl } = brokerConfig({ ...base, services: { 'jobs-service': ['$aws/things/+/jobs/#', '$aws/things/+/streams/#'], 'shadow-service': ['$aws/things/+/shadow/#'] } });
    expect(acl).toContain('user jobs-service\ntopic readwrite $aws/things/+/jobs/#\ntopic readwrite $aws/things/+/streams/#\n');
    expect(acl).toContain('user shadow-service\ntopic readwrite $aws/things/+/shadow/#\n');
    expect(acl.split('\n')).toEqual(expect.arrayContaining(['pattern readwrite $aws/things/%u/jobs/#', 'pattern readwrite $aws/things/%u/streams/#']));
  });
});


async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}


describe('with the real Mosquitto 2.0', () => {
  let dir: string;
  let ca: FleetCA;
  let port: number;
  let broker: ChildProcess;
  let log = '';
  const subs: ChildProcess[] = [];

  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  };
  const tls = (id: string): string[] => ['-h', '127.0.0.1', '-p', String(port), '--cafile', join(dir, 'ca.pem'), '--cert', join(dir, `${id}.pem`), '--key', join(dir, `${id}.key`)];
  const pub = (certId: string, topic: string, message: string, extra: string[] = []): { status: number | null; out: string } => {
    const r = spawnSync('mosquitto_pub', [...tls(certId), '-i', `${certId}-pub`, '-t', topic, '-m', message, ...extra], { encoding: 'utf8', timeout: 10_000 });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };
  const sub = (certId: string, clientId: string, topics: string[]): { lines: () => string[] } => {
    let out = '';
    const p = spawn('mosquitto_sub', [...tls(certId), '-i', clientId, '-v', ...topics.flatMap((t) => ['-t', t])]);
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    subs.push(p);
    return { lines: () => out.split('\n').filter((l) => l !== '') };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-broker-'));
    ca = await createFleetCA();
    const server = await issueServerCertificate({ ca, hosts: ['127.0.0.1', 'localhost'] });
    file('ca.pem', ca.certificatePem);
    file('server.pem', server.certificatePem);
    file('server.key', server.privateKeyPem);
    for (const id of ['A', 'B', 'C', 'dashboard', 'rules', 'jobs-service']) {
      const c = await issueDeviceCertificate({ ca, deviceId: id });
      file(`${id}.pem`, c.certificatePem);
      file(`${id}.key`, c.privateKeyPem!);
    }
    const other = await createFleetCA({ commonName: 'Rogue CA' });
    const rogue = await issueDeviceCertificate({ ca: other, deviceId: 'A' });
    file('rogue.pem', rogue.certificatePem);
    file('rogue.key', rogue.privateKeyPem!);

    // Started as root (as in CI containers), Mosquitto drops to the user "mosquitto" before it
    // reads the key and ACL: hand it the files, as a deployment would.
    if (process.getuid?.() === 0) {
      const uid = Number(spawnSync('id', ['-u', 'mosquitto'], { encoding: 'utf8' }).stdout);
      const gid = Number(spawnSync('id', ['-g', 'mosquitto'], { encoding: 'utf8' }).stdout);
      for (const f of ['', ...readdirSync(dir)]) chownSync(join(dir, f), uid, gid);
    }
    port = await freePort();
    const cfg = brokerConfig({
      caPath: join(dir, 'ca.pem'), serverCertPath: join(dir, 'server.pem'), serverKeyPath: join(dir, 'server.key'),
      aclPath: join(dir, 'acl'), port, host: '127.0.0.1', apps: ['dashboard', 'rules'],
      services: { 'jobs-service': ['$aws/things/+/jobs/#'] },
    });
    file('acl', cfg.acl);
    file('mosquitto.conf', cfg.mosquittoConf);
    if (process.getuid?.() === 0) {
      const uid = Number(spawnSync('id', ['-u', 'mosquitto'], { encoding: 'utf8' }).stdout);
      chownSync(join(dir, 'acl'), uid, -1);
    }
    broker = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf'), '-v']);
    broker.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    broker.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(async () => {
      if (broker.exitCode !== null) throw new Error(`mosquitto exited ${broker.exitCode}: ${log}`);
      return canConnect(port);
    }, `mosquitto on port ${port}`);
  });

  afterAll(async () => {
    for (const s of subs) s.kill('SIGKILL');
    if (broker !== undefined && broker.exitCode === null) {
      const exited = new Promise((r) => broker.once('exit', r));
      broker.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('the generated config loads and the TLS listener comes up (smoke)', () => {
    expect(log).toContain('Config loaded from');
    expect(log).toContain(`Opening ipv4 listen socket on port ${port}`);
    expect(log).not.toMatch(/Error|Warning/);
  });

  // spawnSync blocks the event loop, so the broker's log is read after it returns: wait for it.
  test('allow_anonymous false still admits certificate clients: the CN is the username', async () => {
    const r = pub('A', 'devices/A/hello', 'hi');
    expect(r.status).toBe(0);
    // use_username_as_clientid: the client id asked for (A-pub) is replaced by the CN.
    await waitFor(() => /New client connected from 127\.0\.0\.1:\d+ as A \(p2, c1, k60, u'A'\)/.test(log), 'the connect log line');
  });

  test('no certificate, or a certificate from another CA: refused in the TLS handshake', async () => {
    const none = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '--cafile', join(dir, 'ca.pem'), '-i', 'anon', '-t', 'devices/anon/x', '-m', 'x'], { encoding: 'utf8', timeout: 10_000 });
    expect(none.status).not.toBe(0);
    await waitFor(() => log.includes('peer did not return a certificate'), 'the handshake failure');
    const rogue = pub('rogue', 'devices/A/x', 'forged');
    expect(rogue.status).not.toBe(0);
    await waitFor(() => /certificate verify failed|unknown ca/.test(log), 'the verify failure');
    expect(log).not.toMatch(/as A \(p2, c1, k60, u'A'\)[\s\S]*as A \(p2, c1, k60, u'A'\)/);
  });

  test('ACL: a device publishes and reads only its own topics; an app reads all; denied publishes never arrive', async () => {
    const dashboard = sub('dashboard', 'dashboard', ['devices/+/#', '$aws/things/+/shadow/#']);
    // C subscribes to A's and B's topics (one connection per identity: the client id is the CN).
    const spy = sub('C', 'C-spy', ['devices/B/#', 'devices/A/#', '$aws/things/B/shadow/#']);
    await waitFor(() => log.includes('Sending SUBACK to dashboard') && log.includes('Sending SUBACK to C'), 'both SUBACKs');

    expect(pub('A', 'devices/A/temp', 'a1').status).toBe(0);
    expect(pub('A', 'devices/B/temp', 'forged-by-A').status).toBe(0); // MQTT 3.1.1: silently dropped
    const v5 = pub('A', 'devices/B/temp', 'forged-v5', ['-V', 'mqttv5', '-q', '1']);
    expect(v5.out).toContain('Not authorized'); // MQTT 5: PUBACK reason code 0x87
    expect(pub('B', 'devices/B/temp', 'b1').status).toBe(0);
    expect(pub('A', '$aws/things/A/shadow/update', 's1').status).toBe(0);
    expect(pub('A', '$aws/things/B/shadow/update', 'forged-shadow').status).toBe(0);
    expect(pub('B', '$aws/things/B/shadow/update', 's2').status).toBe(0);
    // Another app identity: a second connection as "dashboard" would take over the subscriber's session.
    expect(pub('rules', 'devices/A/cmd', 'app-writes', ['-V', 'mqttv5', '-q', '1']).out).toContain('Not authorized');
    expect(pub('A', 'devices/A/end', 'end').status).toBe(0);
    await waitFor(() => dashboard.lines().includes('devices/A/end end'), 'the end marker');

    expect(dashboard.lines()).toEqual(['devices/A/temp a1', 'devices/B/temp b1', '$aws/things/A/shadow/update s1', '$aws/things/B/shadow/update s2', 'devices/A/end end']);
    // C subscribed to A's and B's topics (Mosquitto grants the SUBACK) but is never sent them: the
    // broker routes a message to every subscriber when it receives it, so by the end marker any
    // send to C would be in the log.
    expect(spy.lines()).toEqual([]);
    expect(log).toContain('Sending PUBLISH to dashboard');
    expect(log).not.toContain('Sending PUBLISH to C ');
    expect(log).toMatch(/Denied PUBLISH from A .*'devices\/B\/temp'/);
    expect(log).toMatch(/Denied PUBLISH from A .*'\$aws\/things\/B\/shadow\/update'/);
  });

  test('a service writes its reserved topics to any device; a device reads only its own jobs topics', async () => {
    const a = sub('A', 'A-jobs', ['$aws/things/A/jobs/#', '$aws/things/B/jobs/#']);
    await waitFor(() => log.includes('Sending SUBACK to A'), 'the SUBACK');
    expect(pub('jobs-service', '$aws/things/A/jobs/notify', 'n1', ['-V', 'mqttv5', '-q', '1']).status).toBe(0);
    expect(pub('jobs-service', '$aws/things/B/jobs/notify', 'n2', ['-V', 'mqttv5', '-q', '1']).status).toBe(0);
    expect(pub('jobs-service', 'devices/A/cmd', 'x', ['-V', 'mqttv5', '-q', '1']).out).toContain('Not authorized');
    expect(pub('B', '$aws/things/A/jobs/notify', 'forged', ['-V', 'mqttv5', '-q', '1']).out).toContain('Not authorized');
    expect(pub('jobs-service', '$aws/things/A/jobs/end', 'end', ['-V', 'mqttv5', '-q', '1']).status).toBe(0);
    await waitFor(() => a.lines().includes('$aws/things/A/jobs/end end'), 'the end marker');
    expect(a.lines()).toEqual(['$aws/things/A/jobs/notify n1', '$aws/things/A/jobs/end end']);
  });
});
