// Chapter: device shadows. An operator changes a device's reporting interval while the device
// is offline; the reference shadow service keeps it; the device reconnects, picks the change
// up from the shadow (subscribe, then GET), applies it and reports it. Reports the device made
// while offline merge into one update, sent once on reconnect.
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import { createShadowAppClient, createShadowClient, MemoryShadowStore, startShadowService, type JsonObject, type ShadowClient } from '@outpost/shadow';
import type { Chapter } from '../context.js';

/** Identities the embedded broker lets read and write every shadow (`services`). */
export const SHADOW_SERVICE_ID = 'shadow-service';
export const SHADOW_OPERATOR_ID = 'shadow-operator';
const DEVICE = 'thermo-7';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export const shadowSync: Chapter = {
  id: 'shadowSync',
  title: 'Device shadows: a setting changed while the device was offline',
  async run(ctx) {
    const broker = ctx.embedded;
    if (broker === undefined) {
      ctx.say('  (skipped: needs the embedded broker, whose ACL lets the shadow service use every shadow topic)');
      ctx.summary['shadowSync'] = { skipped: true };
      return;
    }
    const closers: Array<() => Promise<unknown>> = [];
    const connect = async (id: string, url: string, fast = false): Promise<DeviceClient> => {
      const c = await ctx.device(id);
      const client = await connectDevice({ url, cert: c.cert, key: c.key, ca: ctx.ca.certificatePem, protocolVersion: ctx.protocolVersion, ...(fast ? { reconnect: { initialDelayMs: 100, maxDelayMs: 300 } } : {}) });
      closers.push(() => client.close({ force: true }));
      return client;
    };
    try {
      // The service and the operator sit on the back-end listener: only the device's link fails.
      const serviceMqtt = await connect(SHADOW_SERVICE_ID, broker.backendUrl);
      const service = await startShadowService({ mqtt: serviceMqtt, store: new MemoryShadowStore() });
      closers.push(() => service.close());
      const operator = createShadowAppClient({ mqtt: await connect(SHADOW_OPERATOR_ID, broker.backendUrl), requestTimeoutMs: 2_000 });
      closers.push(() => operator.close());

      const settings: JsonObject = { reportIntervalS: 60 };
      const applied: Array<{ delta: JsonObject; version: number; source: string }> = [];
      const deviceMqtt = await connect(DEVICE, ctx.url, true);
      const shadow: ShadowClient = await createShadowClient({ mqtt: deviceMqtt, thingName: DEVICE, requestTimeoutMs: 1_000, retryDelayMs: 200 });
      closers.push(() => shadow.close());
      shadow.onDelta(async (delta, info) => {
        Object.assign(settings, delta); // "apply" the setting on the device
        applied.push({ delta, version: info.version, source: info.source });
        await shadow.report(delta);
      });
      await shadow.report({ reportIntervalS: 60, firmware: '2.3.1' });
      await shadow.flush();
      const v0 = (await operator.get(DEVICE)).version;
      ctx.say(`  ${DEVICE} reports every ${String(settings['reportIntervalS'])} s; its shadow is at version ${v0}`);

      await broker.pause();
      await until(() => !deviceMqtt.connected, 5_000, 'the device to go offline');
      const written = await operator.updateDesired(DEVICE, { reportIntervalS: 15 });
      ctx.say(`  the device is offline; the operator sets desired.reportIntervalS = 15 (shadow version ${written.version})`);
      // The device keeps working offline: two battery reports merge into one pending patch.
      await shadow.report({ battery: 81 });
      await shadow.report({ battery: 80 });
      const pendingOffline = shadow.pending();
      ctx.say(`  meanwhile the device queues its reports offline, merged into ${pendingOffline.length} pending patch: ${JSON.stringify(pendingOffline[0])}`);

      await broker.resume();
      await until(() => applied.length > 0, 10_000, 'the device to pick up the change');
      await shadow.flush();
      await until(async () => (await operator.get(DEVICE)).state.delta === undefined, 5_000, 'reported to cover desired');
      const doc = await operator.get(DEVICE);
      const first = applied[0]!;
      ctx.say(`  back online: subscribe, GET → delta ${JSON.stringify(first.delta)} (version ${first.version}); applied, now reporting every ${String(settings['reportIntervalS'])} s`);
      ctx.say(`  shadow version ${doc.version}: reported ${JSON.stringify(doc.state.reported)}, delta: none`);
      ctx.summary['shadowSync'] = {
        device: DEVICE,
        versions: { beforeOffline: v0, desiredWritten: written.version, converged: doc.version },
        appliedIntervalS: settings['reportIntervalS'],
        deltaSource: first.source,
        deltasHandled: applied.length,
        offlineReports: 2,
        pendingPatches: pendingOffline.length,
        reported: doc.state.reported,
        delta: doc.state.delta ?? null,
        serviceStats: service.stats(),
      };
    } finally {
      for (const c of closers.reverse()) await c().catch(() => undefined);
    }
  },
};
