// Chapter 2: the broker goes away for a few seconds while devices keep publishing; every
// message is durably buffered on the device and drained in order when the link returns.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBuffer, type EdgeBuffer } from '@outpost/edge-buffer';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import type { Chapter } from '../context.js';

const DEVICES = ['logger-1', 'logger-2', 'logger-3'];
const PERIOD_MS = 20;
const OUTAGE_MS = 2_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const offlineBuffer: Chapter = {
  id: 'offlineBuffer',
  title: 'Surviving an outage: durable store-and-forward, drained in order',
  async run(ctx) {
    const broker = ctx.embedded;
    if (broker === undefined) {
      ctx.say('  (skipped: needs the embedded broker, which the demo can take down and bring back)');
      ctx.summary['offlineBuffer'] = { skipped: true };
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'outpost-demo-buffers-'));
    const buffers: EdgeBuffer[] = [];
    const devices: DeviceClient[] = [];
    const app = await ctx.device('ops-console');
    // The console sits on the back-end listener: only the devices' link fails.
    const observer = await connectDevice({ url: broker.backendUrl, cert: app.cert, key: app.key, ca: ctx.ca.certificatePem, protocolVersion: ctx.protocolVersion });
    const received = new Map<string, number[]>();
    observer.on('message', (m) => {
      const id = m.topic.split('/')[1] ?? '?';
      received.set(id, [...(received.get(id) ?? []), Number(new TextDecoder().decode(m.payload))]);
    });
    await observer.subscribe('devices/+/log', { qos: 1 });
    try {
      for (const id of DEVICES) {
        const buffer = await openBuffer({ dir: join(dir, id), maxBytes: 16 << 20, durability: 'batch' });
        buffers.push(buffer);
        const creds = await ctx.device(id);
        devices.push(await connectDevice({ url: ctx.url, cert: creds.cert, key: creds.key, ca: ctx.ca.certificatePem, protocolVersion: ctx.protocolVersion, buffer, reconnect: { initialDelayMs: 200, maxDelayMs: 1_000 } }));
      }
      let peakBuffered = 0;
      let running = true;
      const sent = new Map<string, number>();
      const producers = devices.map(async (d) => {
        let n = 0;
        while (running) {
          await d.publish(`devices/${d.clientId}/log`, String(n++), { qos: 1 });
          sent.set(d.clientId, n);
          peakBuffered = Math.max(peakBuffered, d.stats().buffered);
          await sleep(PERIOD_MS);
        }
      });
      await sleep(1_000);
      ctx.say(`  ${DEVICES.length} devices publishing every ${PERIOD_MS} ms through an on-disk buffer; the broker goes away for ${OUTAGE_MS / 1000} s…`);
      await broker.pause();
      await sleep(OUTAGE_MS);
      const bufferedAtReturn = devices.reduce((n, d) => n + d.stats().buffered, 0);
      await broker.resume();
      ctx.say(`  …and comes back: ${bufferedAtReturn} messages were waiting on the devices' disks`);
      await sleep(1_000);
      running = false;
      await Promise.all(producers);
      const deadline = Date.now() + 15_000;
      const total = (): number => [...sent.values()].reduce((a, b) => a + b, 0);
      const distinct = (): number => [...received.values()].reduce((a, xs) => a + new Set(xs).size, 0);
      while ((devices.some((d) => d.stats().buffered > 0) || distinct() < total()) && Date.now() < deadline) await sleep(20);
      const inOrder = [...received.values()].every((xs) => {
        const firsts = xs.filter((x, i) => xs.indexOf(x) === i);
        return firsts.every((x, i) => x === i);
      });
      const delivered = distinct();
      const duplicates = [...received.values()].reduce((a, xs) => a + xs.length, 0) - delivered;
      const lost = total() - delivered;
      ctx.say(`  sent ${total()}, delivered ${delivered} (${duplicates} QoS 1 redeliveries), in order per device: ${inOrder ? 'yes' : 'NO'}, lost: ${lost}`);
      ctx.summary['offlineBuffer'] = { sent: total(), bufferedAtReturn, peakBuffered, delivered, duplicates, inOrder, lost };
    } finally {
      await Promise.all([...devices, observer].map((c) => c.close()));
      await Promise.all(buffers.map((b) => b.close()));
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
