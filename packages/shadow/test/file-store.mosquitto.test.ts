// The service on its durable file store: stopped and started again (a new process would do the
// same), documents and versions go on where they were.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempDir } from '@outpost/test-peers';
import { createShadowAppClient, openFileShadowStore, startShadowService } from '../src/index.js';
import { APP_ID, SERVICE_ID, startShadowFleet, type ShadowFleet } from './fixtures/shadow-fleet.js';

let fleet: ShadowFleet;
const tmp = tempDir('outpost-shadow-files-');
beforeAll(async () => { fleet = await startShadowFleet(); });
afterAll(async () => { await fleet?.stop(); tmp.cleanup(); });

it('documents and versions survive a service restart on the file store', async () => {
  const appMqtt = await fleet.connect(APP_ID);
  const app = createShadowAppClient({ mqtt: appMqtt, requestTimeoutMs: 2_000 });
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    const mqtt = await fleet.connect(SERVICE_ID);
    const store = await openFileShadowStore({ dir: tmp.path });
    const service = await startShadowService({ mqtt, store });
    try {
      return await fn();
    } finally {
      await service.close();
      await store.close();
      await mqtt.close({ force: true });
    }
  };
  await run(async () => {
    await app.updateDesired('lamp', { color: 'red' });
    await app.update('lamp', { state: { reported: { color: 'blue' } } });
    await app.updateDesired('lamp', { fw: '2' }, { shadowName: 'ota' });
    await app.delete('lamp', { shadowName: 'ota' });
  });
  await run(async () => {
    const doc = await app.get('lamp');
    expect(doc.version).toBe(2);
    expect(doc.state).toEqual({ desired: { color: 'red' }, reported: { color: 'blue' }, delta: { color: 'red' } });
    await expect(app.get('lamp', { shadowName: 'ota' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await app.updateDesired('lamp', { fw: '3' }, { shadowName: 'ota' })).version).toBe(2); // after the tombstone at 1
    expect((await app.updateDesired('lamp', { color: 'blue' }, { version: 2 })).version).toBe(3);
  });
  await app.close();
  await appMqtt.close({ force: true });
});
