// A second, independent client: the AWS IoT Device SDK v2 for JavaScript (aws-crt's MQTT 5 client,
// IotIdentityClientv2) provisions a device by claim against the reference provisioning service
// through Mosquitto with mutual TLS and the claim's ACL. The SDK builds AWS's request payloads,
// subscribes to the /accepted and /rejected topics and maps a rejection to its modeled error on
// its own, so this checks the topics, the documents and the error shape against AWS's reading of
// fleet provisioning, not ours. The key pair and CSR come from openssl, a third party as well.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iotidentity, mqtt5 } from 'aws-iot-device-sdk-v2';
import { closeAwsMqtt5, connectAwsMqtt5 } from '../../jobs/test/fixtures/aws-mqtt5.js';
import mqtt from 'mqtt';
import { startProvisioningFleet, type ProvisioningFleet } from './fixtures/provisioning-fleet.js';

let fleet: ProvisioningFleet;
let client: mqtt5.Mqtt5Client;
let identity: iotidentity.IotIdentityClientv2;

/** An EC P-256 key and a CSR with CN=<id> made by the openssl command line. */
function opensslCsr(id: string): { key: string; csr: string } {
  const key = join(fleet.dir, `${id}.key`);
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  const csr = execFileSync('openssl', ['req', '-new', '-key', key, '-subj', `/CN=${id}`], { encoding: 'utf8' });
  return { key: readFileSync(key, 'utf8'), csr };
}

beforeAll(async () => {
  fleet = await startProvisioningFleet({
    claims: { 'line-aws': ['factory'] },
    service: { templates: { factory: { deviceConfiguration: { site: 'plant-7' } } }, allow: ['aws-dev-1', 'aws-dev-2'] },
  });
  const claim = await fleet.claim('line-aws');
  client = await connectAwsMqtt5({ port: fleet.broker.port, cert: claim.cert, key: claim.key, ca: fleet.ca.certificatePem, clientId: 'aws-claim-client' });
  identity = iotidentity.IotIdentityClientv2.newFromMqtt5(client, { maxRequestResponseSubscriptions: 4, maxStreamingSubscriptions: 1, operationTimeoutInSeconds: 15 });
}, 60_000);

afterAll(async () => {
  identity?.close();
  await closeAwsMqtt5(client);
  await fleet?.stop();
});

describe('AWS IoT Device SDK v2 (IotIdentityClientv2) against the reference provisioning service', () => {
  it('CreateCertificateFromCsr then RegisterThing; the device connects with the certificate it got', async () => {
    const { key, csr } = opensslCsr('aws-dev-1');
    const created = await identity.createCertificateFromCsr({ certificateSigningRequest: csr });
    expect(created.certificateId).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof created.certificateOwnershipToken).toBe('string');
    const cert = new X509Certificate(created.certificatePem!);
    expect(cert.subject).toBe('CN=aws-dev-1');
    expect(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(key))).toBe(true);

    const registered = await identity.registerThing({ templateName: 'factory', certificateOwnershipToken: created.certificateOwnershipToken!, parameters: { SerialNumber: 'aws-dev-1' } });
    expect(registered).toMatchObject({ thingName: 'aws-dev-1', deviceConfiguration: { site: 'plant-7' } });

    // The new identity works on the broker: its own telemetry topic, as any device.
    const dev = await mqtt.connectAsync(fleet.url, { cert: created.certificatePem!, key, ca: fleet.ca.certificatePem, clientId: 'aws-dev-1', protocolVersion: 5, reconnectPeriod: 0 });
    const ack = await dev.publishAsync('devices/aws-dev-1/telemetry', '{"t":1}', { qos: 1 });
    expect((ack as { reasonCode?: number } | undefined)?.reasonCode ?? 0).toBe(0);
    await dev.endAsync();
  });

  it('refusals come back as the SDK\'s modeled errors: a token used twice, an id the hook does not allow', async () => {
    const { csr } = opensslCsr('aws-dev-2');
    const created = await identity.createCertificateFromCsr({ certificateSigningRequest: csr });
    await identity.registerThing({ templateName: 'factory', certificateOwnershipToken: created.certificateOwnershipToken!, parameters: { SerialNumber: 'aws-dev-2' } });
    const again = await identity.registerThing({ templateName: 'factory', certificateOwnershipToken: created.certificateOwnershipToken!, parameters: { SerialNumber: 'aws-dev-2' } }).then(() => undefined, (e: unknown) => e);
    expect(again).toBeDefined();
    const modeled = (again as { modeledError?: { statusCode?: number; errorCode?: string } }).modeledError;
    expect(modeled).toMatchObject({ statusCode: 400, errorCode: 'InvalidCertificateOwnershipToken' });

    const { csr: stranger } = opensslCsr('not-on-the-list');
    const refused = await identity.createCertificateFromCsr({ certificateSigningRequest: stranger }).then(() => undefined, (e: unknown) => e);
    expect((refused as { modeledError?: { statusCode?: number; errorCode?: string } }).modeledError).toMatchObject({ statusCode: 403, errorCode: 'NotAllowed' });
  });
});
