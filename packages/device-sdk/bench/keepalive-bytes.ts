/**
 * Measures the bytes of one MQTT PINGREQ/PINGRESP exchange over TLS 1.2 and TLS 1.3 against a
 * local Mosquitto, and compares them with the keep-alive byte model.
 *
 * Run from the repository root:
 *
 *   npx tsx --conditions=@outpost/source packages/device-sdk/bench/keepalive-bytes.ts
 *
 * How it counts:
 * - TLS-layer bytes: MQTT.js connects to a counting TCP relay on 127.0.0.1 that forwards to
 *   Mosquitto. The relay counts every byte each way and splits the stream into TLS records
 *   (5-byte header: type, version, length), so we see the record sizes, not just totals.
 * - TCP segments: `ss -tin` reports per-socket `segs_out`/`segs_in`/`data_segs_*` for the
 *   relay→Mosquitto socket (Linux, Mosquitto on the far side, so its kernel's ACK behaviour is
 *   real). Pure ACKs = segments − data segments. Header bytes per segment are then computed from
 *   the header sizes (20 IPv4 + 20 TCP + 12 timestamp option when `ss` shows `ts`): user space
 *   cannot see header bytes without a capture, and tshark/tcpdump are not installed here.
 * - Idle before each ping matters: Linux enters quick-ACK mode when data arrives after an idle
 *   gap longer than the RTO, so after a real keep-alive idle the broker ACKs the PINGREQ at once,
 *   before Mosquitto writes the PINGRESP. The bench runs both a short and a long idle gap.
 *
 * Starts its own Mosquitto (`/usr/sbin/mosquitto`) with a throwaway self-signed CA and server
 * certificate made by the openssl CLI in a temp directory; everything is removed at the end.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectionOptions } from 'node:tls';
import mqtt, { type IClientOptions } from 'mqtt';
import { pingExchangeBytes, type TlsVersion } from '@outpost/device-sdk';

const MOSQUITTO = process.env['MOSQUITTO'] ?? '/usr/sbin/mosquitto';
const TRIALS = 5;
const SHORT_IDLE_MS = 50;
const LONG_IDLE_MS = 1500; // > Linux's 200 ms minimum RTO: the broker sees a "real" idle gap
const SETTLE_MS = 400; // > Linux's 200 ms maximum delayed-ACK timer

interface Direction {
  bytes: number;
  records: { type: number; length: number }[];
  pending: Buffer;
}

function newDirection(): Direction {
  return { bytes: 0, records: [], pending: Buffer.alloc(0) };
}

/** Splits a TLS byte stream into records (RFC 8446 §5.1 / RFC 5246 §6.2: type, version, length). */
function feed(dir: Direction, chunk: Buffer): void {
  dir.bytes += chunk.length;
  dir.pending = Buffer.concat([dir.pending, chunk]);
  while (dir.pending.length >= 5) {
    const length = dir.pending.readUInt16BE(3);
    if (dir.pending.length < 5 + length) break;
    dir.records.push({ type: dir.pending[0] ?? -1, length: 5 + length });
    dir.pending = dir.pending.subarray(5 + length);
  }
}

interface Relay {
  port: number;
  up: Direction;
  down: Direction;
  close: () => Promise<void>;
}

async function startRelay(targetPort: number): Promise<Relay> {
  const up = newDirection();
  const down = newDirection();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const broker = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(broker);
    client.on('data', (c: Buffer) => { feed(up, c); broker.write(c); });
    broker.on('data', (c: Buffer) => { feed(down, c); client.write(c); });
    client.on('close', () => broker.destroy());
    broker.on('close', () => client.destroy());
    client.on('error', () => broker.destroy());
    broker.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port, up, down,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port}`);
    await sleep(50);
  }
}

function makePki(dir: string): void {
  const run = (args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }); };
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=outpost-bench-ca', '-days', '1']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext']);
  // Mosquitto started as root drops to the `mosquitto` user before it reads the files; these
  // are throwaway test credentials, so let it read them.
  chmodSync(dir, 0o755);
  for (const f of ['ca.crt', 'server.crt', 'server.key']) chmodSync(join(dir, f), 0o644);
}

function mosquittoVersion(): string {
  // `mosquitto -h` prints its version and exits with status 3.
  const r = spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8' });
  return r.stdout.split('\n')[0] ?? 'mosquitto (version unknown)';
}

interface SsCounters { segsOut: number; segsIn: number; dataOut: number; dataIn: number; timestamps: boolean }

/** Per-socket TCP counters of the relay→broker connection (`ss -tin`, Linux ≥ 4.6). */
function ssCounters(brokerPort: number): SsCounters {
  const out = execFileSync('ss', ['-tinH', 'state', 'established', `( dport = :${brokerPort} )`], { encoding: 'utf8' });
  const num = (name: string): number => {
    const m = new RegExp(`\\b${name}:(\\d+)`).exec(out);
    if (m === null) throw new Error(`ss: no ${name} in ${JSON.stringify(out)}`);
    return Number(m[1]);
  };
  return {
    segsOut: num('segs_out'), segsIn: num('segs_in'),
    dataOut: /\bdata_segs_out:(\d+)/.test(out) ? num('data_segs_out') : 0,
    dataIn: /\bdata_segs_in:(\d+)/.test(out) ? num('data_segs_in') : 0,
    timestamps: /\bts\b/.test(out),
  };
}

interface Trial {
  idleMs: number;
  upBytes: number; downBytes: number;
  upRecords: number[]; downRecords: number[];
  segments: number; dataSegments: number; pureAcks: number; timestamps: boolean;
}

interface Case { label: string; tls: TlsVersion; cipher?: string; maxVersion: 'TLSv1.2' | 'TLSv1.3' }

async function measure(c: Case, brokerPort: number, ca: Buffer): Promise<{ cipher: string; trials: Trial[] }> {
  const relay = await startRelay(brokerPort);
  // MQTT.js hands these to tls.connect unchanged; its IClientOptions does not list them all.
  const tlsOptions: ConnectionOptions = {
    ca, rejectUnauthorized: true, minVersion: c.maxVersion, maxVersion: c.maxVersion,
    ...(c.cipher === undefined ? {} : { ciphers: c.cipher }),
  };
  const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${relay.port}`, {
    ...(tlsOptions as IClientOptions),
    keepalive: 600, // far above the run time: MQTT.js must not ping on its own
    reconnectPeriod: 0, protocolVersion: 4, clientId: `ka-bench-${c.label}`,
  });
  const stream = client.stream as unknown as { getCipher?: () => { name: string } };
  const cipher = stream.getCipher?.().name ?? 'unknown';
  await sleep(SETTLE_MS); // let TLS 1.3 NewSessionTicket records and handshake ACKs pass
  const trials: Trial[] = [];
  for (let i = 0; i < TRIALS * 2; i++) {
    const idleMs = i % 2 === 0 ? SHORT_IDLE_MS : LONG_IDLE_MS;
    await sleep(idleMs);
    const u0 = relay.up.bytes, d0 = relay.down.bytes;
    const ur0 = relay.up.records.length, dr0 = relay.down.records.length;
    const s0 = ssCounters(brokerPort);
    const pong = new Promise<void>((resolve) => {
      const onPacket = (p: { cmd: string }): void => {
        if (p.cmd === 'pingresp') { client.removeListener('packetreceive', onPacket); resolve(); }
      };
      client.on('packetreceive', onPacket);
    });
    client.sendPing(); // MQTT 3.1.1 §3.12 PINGREQ; the broker answers with §3.13 PINGRESP
    await pong;
    await sleep(SETTLE_MS); // delayed ACKs
    const s1 = ssCounters(brokerPort);
    const segments = (s1.segsOut - s0.segsOut) + (s1.segsIn - s0.segsIn);
    const dataSegments = (s1.dataOut - s0.dataOut) + (s1.dataIn - s0.dataIn);
    trials.push({
      idleMs,
      upBytes: relay.up.bytes - u0, downBytes: relay.down.bytes - d0,
      upRecords: relay.up.records.slice(ur0).map((r) => r.length),
      downRecords: relay.down.records.slice(dr0).map((r) => r.length),
      segments, dataSegments, pureAcks: segments - dataSegments, timestamps: s1.timestamps,
    });
  }
  await client.endAsync();
  await relay.close();
  return { cipher, trials };
}

function mode(xs: number[]): number {
  const counts = new Map<number, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? Number.NaN;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-ka-bench-'));
  let broker: ChildProcess | undefined;
  try {
    makePki(dir);
    const port = await freePort();
    writeFileSync(join(dir, 'mosquitto.conf'), [
      `listener ${port} 127.0.0.1`,
      `cafile ${join(dir, 'ca.crt')}`,
      `certfile ${join(dir, 'server.crt')}`,
      `keyfile ${join(dir, 'server.key')}`,
      'require_certificate false',
      'allow_anonymous true',
      'set_tcp_nodelay true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      '',
    ].join('\n'));
    broker = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
    await waitForPort(port, 5000);
    const ca = readFileSync(join(dir, 'ca.crt'));

    const cases: Case[] = [
      { label: 'tls13', tls: '1.3', maxVersion: 'TLSv1.3' },
      { label: 'tls12-gcm', tls: '1.2', maxVersion: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256' },
      { label: 'tls12-chacha', tls: '1.2', maxVersion: 'TLSv1.2', cipher: 'ECDHE-ECDSA-CHACHA20-POLY1305' },
    ];
    console.log(`Node ${process.version}, ${mosquittoVersion()}`);
    console.log(`OpenSSL (Node) ${process.versions.openssl}; loopback, IPv4; idle gaps ${SHORT_IDLE_MS} ms / ${LONG_IDLE_MS} ms; ${TRIALS} trials each\n`);
    const summary: Record<string, unknown>[] = [];
    for (const c of cases) {
      const { cipher, trials } = await measure(c, port, ca);
      console.log(`${c.label} (${cipher})`);
      for (const t of trials) {
        console.log(`  idle ${String(t.idleMs).padStart(4)} ms: TLS up ${t.upBytes} B [${t.upRecords.join(',')}], down ${t.downBytes} B [${t.downRecords.join(',')}]; segments ${t.segments} (data ${t.dataSegments}, pure ACK ${t.pureAcks})${t.timestamps ? ', ts' : ''}`);
      }
      const up = mode(trials.map((t) => t.upBytes));
      const down = mode(trials.map((t) => t.downBytes));
      const acksShort = mode(trials.filter((t) => t.idleMs === SHORT_IDLE_MS).map((t) => t.pureAcks));
      const acksLong = mode(trials.filter((t) => t.idleMs === LONG_IDLE_MS).map((t) => t.pureAcks));
      const timestamps = trials.every((t) => t.timestamps);
      const aead = c.cipher?.includes('CHACHA') === true ? 'chacha20-poly1305' as const : 'aes-gcm' as const;
      const tlsMeasured = up + down;
      const modelTls = (() => { const m = pingExchangeBytes({ tlsVersion: c.tls, tls12Aead: aead, ipVersion: 4, tcpTimestamps: false }); return m.mqtt + m.tlsRecord; })();
      console.log(`  => TLS bytes ${up} + ${down} = ${tlsMeasured} (model ${modelTls}${modelTls === tlsMeasured ? ', match' : ', MISMATCH'}); pure ACKs ${acksShort} after a short idle, ${acksLong} after a long idle; TCP timestamps ${timestamps ? 'on' : 'off'} on this loopback`);
      // Header bytes are computed, not captured: segments counted by ss × header size.
      const computed = (ipVersion: 4 | 6, tcpTimestamps: boolean): number =>
        tlsMeasured + (2 + acksLong) * ((ipVersion === 4 ? 20 : 40) + 20 + (tcpTimestamps ? 12 : 0));
      const variants = [[4, false], [4, true], [6, false], [6, true]] as const;
      const parts = variants.map(([ip, ts]) => {
        const model = pingExchangeBytes({ tlsVersion: c.tls, tls12Aead: aead, ipVersion: ip, tcpTimestamps: ts }, { pureAcks: acksLong === 2 ? 2 : acksLong === 0 ? 0 : 1 }).total;
        return `IPv${ip}${ts ? '+ts' : ''} ${computed(ip, ts)} B (model ${model})`;
      });
      console.log(`  => per exchange with ${2 + acksLong} segments: ${parts.join(', ')}\n`);
      const totalIPv4 = computed(4, timestamps);
      summary.push({ case: c.label, cipher, tlsUp: up, tlsDown: down, pureAcksShortIdle: acksShort, pureAcksLongIdle: acksLong, timestamps, totalIPv4, totalIPv4Timestamps: computed(4, true) });
    }
    console.log(JSON.stringify(summary));
  } finally {
    if (broker !== undefined && broker.exitCode === null) {
      const exited = new Promise<void>((resolve) => broker?.once('exit', () => resolve()));
      broker.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
