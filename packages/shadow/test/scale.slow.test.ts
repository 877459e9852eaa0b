// Shadows at app scale (issue #16): an app client that requests and watches 10,000 things
// holds a bounded number of broker subscriptions and releases them. Counted by the broker
// itself: Mosquitto's $SYS/broker/subscriptions/count (published every second here).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceClient } from '@outpost/device-sdk';
import { createShadowAppClient, startShadowService, type ShadowAppClient, type ShadowService } from '../src/index.js';
import { APP_ID, SERVICE_ID, SYS_ID, startShadowFleet, type ShadowFleet } from './fixtures/shadow-fleet.js';
import { eventually } from './helpers.js';

const THINGS = 10_000;
const WORKERS = 100; // requests in flight at once

let fleet: ShadowFleet;
let serviceMqtt: DeviceClient;
let appMqtt: DeviceClient;
let sysMqtt: DeviceClient;
let service: ShadowService;
let app: ShadowAppClient;
/** Every value of $SYS/broker/subscriptions/count seen, in order. */
const counts: number[] = [];
/** $SYS/broker/uptime messages seen: one a second (the count is published only when it changes). */
let ticks = 0;

beforeAll(async () => {
  fleet = await startShadowFleet({ sysIntervalS: 1 });
  serviceMqtt = await fleet.connect(SERVICE_ID);
  service = await startShadowService({ mqtt: serviceMqtt });
  appMqtt = await fleet.connect(APP_ID);
  app = createShadowAppClient({ mqtt: appMqtt, requestTimeoutMs: 20_000 });
  sysMqtt = await fleet.connect(SYS_ID);
  sysMqtt.on('message', (m) => {
    if (m.topic === '$SYS/broker/subscriptions/count') counts.push(Number(new TextDecoder().decode(m.payload)));
    if (m.topic === '$SYS/broker/uptime') ticks++;
  });
  await sysMqtt.subscribe(['$SYS/broker/subscriptions/count', '$SYS/broker/uptime']);
}, 60_000);

afterAll(async () => {
  await app?.close();
  await service?.close();
  for (const c of [sysMqtt, appMqtt, serviceMqtt]) await c?.close({ force: true });
  await fleet?.stop();
});

/** The broker's count, from a $SYS message published after this call. */
async function brokerCount(): Promise<number> {
  const seen = ticks;
  // $SYS is published every second; two ticks later the count reflects everything done before the call.
  await eventually(() => ticks >= seen + 2 && counts.length > 0, 20_000, '$SYS/broker/uptime');
  return counts[counts.length - 1] as number;
}

const name = (i: number): string => `scale-${String(i).padStart(5, '0')}`;

describe('app client at 10,000 things', () => {
  it('requests hold at most 2 filters per shadow in flight and release them; watches hold 1 per thing and release it', async () => {
    const baseline = await brokerCount();
    const from = counts.length;

    // 10,000 GETs (404: never created) and 10,000 writes, WORKERS at a time.
    let next = 0;
    let notFound = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < THINGS; i = next++) {
        await app.get(name(i)).catch((e: { code?: string }) => { if (e.code === 'NOT_FOUND') notFound++; else throw e; });
        await app.updateDesired(name(i), { n: i });
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    expect(notFound).toBe(THINGS);
    const afterRequests = await brokerCount();
    const peak = Math.max(...counts.slice(from));
    // The old client kept 6 per thing: 60,000 here.
    expect(peak - baseline).toBeLessThanOrEqual(2 * WORKERS);
    expect(afterRequests).toBe(baseline);
    expect(app.stats()).toMatchObject({ subscriptions: 0, shadows: 0, unsubscribes: 2 * THINGS });

    // 10,000 watchers: one filter each while watched, none after stop.
    const stops = await Promise.all(Array.from({ length: THINGS }, (_, i) => app.watch(name(i), () => undefined)));
    expect(await brokerCount()).toBe(baseline + THINGS);
    expect(app.stats().subscriptions).toBe(THINGS);
    for (const stop of stops) stop();
    expect(await brokerCount()).toBe(baseline);
    expect(service.stats().accepted).toBe(THINGS);
  }, 300_000);
});
