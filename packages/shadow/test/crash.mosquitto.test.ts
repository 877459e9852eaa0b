// A device killed (SIGKILL) in the middle of an update converges after it restarts: pending
// reports live in an @outpost/edge-buffer and are sent again; the service is the reference one
// on a real Mosquitto with mTLS.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceClient } from '@outpost/device-sdk';
import { tempDir } from '@outpost/test-peers';
import { createShadowAppClient, MemoryShadowStore, startShadowService, type ShadowAppClient, type ShadowService } from '../src/index.js';
import { APP_ID, SERVICE_ID, startShadowFleet, type ShadowFleet } from './fixtures/shadow-fleet.js';
import type { TcpProxy } from './fixtures/proxy.js';
import { eventually } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SCRIPT = join(import.meta.dirname, 'fixtures', 'device-proc.ts');

let fleet: ShadowFleet;
let serviceMqtt: DeviceClient;
let appMqtt: DeviceClient;
let service: ShadowService;
let app: ShadowAppClient;
const store = new MemoryShadowStore();
const drop = new Set<string>();
const tmp = tempDir('outpost-shadow-crash-');
const children = new Set<ChildProcess>();

beforeAll(async () => {
  fleet = await startShadowFleet();
  serviceMqtt = await fleet.connect(SERVICE_ID);
  service = await startShadowService({ mqtt: serviceMqtt, store, dropReply: (r) => drop.has(`${r.thingName}/${r.operation}/${r.suffix}`) });
  appMqtt = await fleet.connect(APP_ID);
  app = createShadowAppClient({ mqtt: appMqtt, requestTimeoutMs: 3_000 });
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await app?.close();
  await service?.close();
  await appMqtt?.close({ force: true });
  await serviceMqtt?.close({ force: true });
  await fleet?.stop();
  tmp.cleanup();
});

interface Proc {
  readonly child: ChildProcess;
  lines: string[];
  waitLine(prefix: string, timeoutMs?: number): Promise<string>;
  send(line: string): void;
  kill9(): Promise<void>;
}

async function startDevice(id: string, via?: TcpProxy): Promise<Proc> {
  const c = await fleet.creds(id);
  const cfgPath = join(tmp.path, `${id}.json`);
  writeFileSync(cfgPath, JSON.stringify({ url: via === undefined ? fleet.url : `mqtts://127.0.0.1:${via.port}`, id, cert: c.cert, key: c.key, ca: fleet.ca.certificatePem, bufferDir: join(tmp.path, `${id}-buffer`) }));
  const child = spawn(process.execPath, ['--conditions=@outpost/source', '--import', 'tsx', SCRIPT, cfgPath], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const p: Proc = {
    child,
    lines: [],
    async waitLine(prefix, timeoutMs = 30_000) {
      let found: string | undefined;
      await eventually(() => (found = p.lines.find((l) => l.startsWith(prefix))) !== undefined, timeoutMs, `"${prefix}" from ${id} (got ${JSON.stringify(p.lines)}; stderr ${stderr.slice(-500)})`);
      return found!;
    },
    send(line) { child.stdin!.write(line + '\n'); },
    async kill9() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGKILL'); });
      children.delete(child);
    },
  };
  let buf = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    p.lines.push(...parts);
  });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  return p;
}

describe('a device killed mid-update', () => {
  it('killed after sending its report but before the reply: converges after restart', async () => {
    await app.updateDesired('dev-kill', { intervalS: 60 });
    drop.add('dev-kill/update/accepted'); // the reply never reaches the device
    const first = await startDevice('dev-kill');
    await first.waitLine('DELTA {"intervalS":60}');
    // The device applied the change, buffered its report (durably) and sent it; the shadow has
    // it, the device does not know. Kill it now.
    await eventually(async () => (await app.get('dev-kill')).state.reported?.['intervalS'] === 60, 10_000, 'the report applied');
    await first.kill9();
    drop.delete('dev-kill/update/accepted');
    await app.updateDesired('dev-kill', { mode: 'eco' });
    const second = await startDevice('dev-kill');
    // After the restart the buffered report is sent again (idempotent) and the new delta applied.
    const synced = await second.waitLine('SYNCED');
    expect(synced).toContain('pending=[{"intervalS":60}]');
    await second.waitLine('DELTA {"mode":"eco"}');
    await eventually(async () => (await app.get('dev-kill')).state.delta === undefined, 20_000, 'convergence');
    expect((await app.get('dev-kill')).state.reported).toEqual({ intervalS: 60, mode: 'eco' });
    await second.kill9();
  });

  it('killed while offline with a report only in its buffer: the report reaches the shadow after restart', async () => {
    const proxy = await fleet.proxy();
    const first = await startDevice('dev-kill-2', proxy);
    await first.waitLine('SYNCED');
    await proxy.cut();
    first.send('report {"battery":42,"fw":"1.0.3"}');
    await first.waitLine('BUFFERED');
    await first.kill9();
    await expect(app.get('dev-kill-2')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const second = await startDevice('dev-kill-2');
    await second.waitLine('FLUSHED');
    expect((await app.get('dev-kill-2')).state.reported).toEqual({ battery: 42, fw: '1.0.3' });
    await second.kill9();
  });
});
