// A second, independent client: the AWS IoT Device SDK v2 for JavaScript (aws-crt's MQTT 5 client,
// IotShadowClientv2) works a device's classic and named shadows against the reference shadow
// service through Mosquitto with mutual TLS and the per-device ACL. The SDK builds AWS's request
// documents, correlates answers by clientToken, parses the accepted/delta documents into its
// models and maps rejections to its modeled errors on its own, so this checks the topics and the
// documents against AWS's reading of the shadow protocol, not ours.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iotshadow, mqtt5 } from 'aws-iot-device-sdk-v2';
import { closeAwsMqtt5, connectAwsMqtt5 } from '../../jobs/test/fixtures/aws-mqtt5.js';
import type { DeviceClient } from '@outpost/device-sdk';
import { createShadowAppClient, MemoryShadowStore, startShadowService, type ShadowAppClient, type ShadowService } from '../src/index.js';
import { APP_ID, SERVICE_ID, startShadowFleet, type ShadowFleet } from './fixtures/shadow-fleet.js';

const THING = 'aws-shadow-1';
let fleet: ShadowFleet;
let serviceMqtt: DeviceClient;
let appMqtt: DeviceClient;
let service: ShadowService;
let app: ShadowAppClient;
let client: mqtt5.Mqtt5Client;
let shadow: iotshadow.IotShadowClientv2;

type Modeled = { modeledError?: { code?: number; message?: string; clientToken?: string } };
const rejected = (p: Promise<unknown>): Promise<Modeled> => p.then(() => { throw new Error('expected a rejection'); }, (e: unknown) => e as Modeled);

beforeAll(async () => {
  fleet = await startShadowFleet();
  serviceMqtt = await fleet.connect(SERVICE_ID);
  service = await startShadowService({ mqtt: serviceMqtt, store: new MemoryShadowStore() });
  appMqtt = await fleet.connect(APP_ID);
  app = createShadowAppClient({ mqtt: appMqtt, requestTimeoutMs: 5_000 });
  const d = await fleet.creds(THING);
  client = await connectAwsMqtt5({ port: fleet.broker.port, cert: d.cert, key: d.key, ca: fleet.ca.certificatePem, clientId: THING });
  shadow = iotshadow.IotShadowClientv2.newFromMqtt5(client, { maxRequestResponseSubscriptions: 6, maxStreamingSubscriptions: 2, operationTimeoutInSeconds: 15 });
}, 60_000);

afterAll(async () => {
  shadow?.close();
  await closeAwsMqtt5(client);
  await app?.close();
  await service?.close();
  await appMqtt?.close({ force: true });
  await serviceMqtt?.close({ force: true });
  await fleet?.stop();
});

describe('AWS IoT Device SDK v2 (IotShadowClientv2) against the reference shadow service', () => {
  it('classic shadow: get of a missing shadow is a modeled 404; update, get with delta, version conflict 409, delete', async () => {
    const missing = await rejected(shadow.getShadow({ thingName: THING }));
    expect(missing.modeledError).toMatchObject({ code: 404 });

    const up = await shadow.updateShadow({ thingName: THING, state: { reported: { led: 'off', fw: '1.0.0' } } });
    expect(up.version).toBe(1);
    expect(up.state?.reported).toEqual({ led: 'off', fw: '1.0.0' });

    // The app (our client) asks for a change; the device (AWS's client) sees it as a delta.
    await app.updateDesired(THING, { led: 'on' });
    const got = await shadow.getShadow({ thingName: THING });
    expect(got.version).toBe(2);
    expect(got.state?.desired).toEqual({ led: 'on' });
    expect(got.state?.delta).toEqual({ led: 'on' });
    expect(typeof got.metadata?.desired).toBe('object');

    const conflict = await rejected(shadow.updateShadow({ thingName: THING, state: { reported: { led: 'on' } }, version: 1 }));
    expect(conflict.modeledError).toMatchObject({ code: 409 });

    const del = await shadow.deleteShadow({ thingName: THING });
    expect(del.version).toBe(2);
    expect((await rejected(shadow.getShadow({ thingName: THING }))).modeledError).toMatchObject({ code: 404 });
  });

  it('named shadow: the delta stream delivers the app\'s desired change, the device reports it and the delta is gone', async () => {
    const stream = shadow.createNamedShadowDeltaUpdatedStream({ thingName: THING, shadowName: 'config' });
    const subscribed = new Promise<void>((resolve) => stream.on('subscriptionStatus', (e) => { if (String(e.type) === '0' || /ESTABLISHED/i.test(String(e.type))) resolve(); }));
    const delta = new Promise<iotshadow.model.ShadowDeltaUpdatedEvent>((resolve) => stream.on('incomingPublish', (e) => resolve(e.message)));
    stream.open();
    await subscribed;
    await shadow.updateNamedShadow({ thingName: THING, shadowName: 'config', state: { reported: { rate: 10 } } });
    await app.updateDesired(THING, { rate: 60 }, { shadowName: 'config' });
    const d = await delta;
    expect(d.state).toEqual({ rate: 60 });
    expect(d.version).toBe(2);
    const after = await shadow.updateNamedShadow({ thingName: THING, shadowName: 'config', state: { reported: { rate: 60 } } });
    expect(after.version).toBe(3);
    const got = await shadow.getNamedShadow({ thingName: THING, shadowName: 'config' });
    expect(got.state?.delta).toBeUndefined();
    expect(got.state?.reported).toEqual({ rate: 60 });
    stream.close();
  });

  it('a request the service refuses comes back as a modeled 400 with the SDK\'s own clientToken', async () => {
    const bad = await rejected(shadow.updateShadow({ thingName: THING, state: { desired: { deep: { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } } } } }));
    expect(bad.modeledError?.code).toBe(400);
    expect(typeof bad.modeledError?.clientToken).toBe('string');
  });
});
