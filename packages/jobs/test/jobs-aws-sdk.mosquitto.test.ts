// A second, independent client: the AWS IoT Device SDK v2 for JavaScript (aws-crt's MQTT 5
// client, IotJobsClientv2) runs a job against the reference jobs service through Mosquitto with
// mutual TLS and the per-device ACL. The SDK builds AWS's request payloads, correlates answers
// by clientToken and maps rejections to its modeled errors on its own, so this checks the topics,
// the documents and the error codes against AWS's reading of them, not ours.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iotjobs, mqtt5 } from 'aws-iot-device-sdk-v2';
import { closeAwsMqtt5, connectAwsMqtt5 } from './fixtures/aws-mqtt5.js';
import { connectDevice, type DeviceClient } from '@outpost/device-sdk';
import { startFleet, type Fleet } from '../../device-sdk/test/fixtures/fleet.js';
import { MemoryJobsStore, startJobsService, type JobsService } from '../src/index.js';

const THING = 'aws-dev-1';
let fleet: Fleet;
let serviceMqtt: DeviceClient;
let service: JobsService;
let client: mqtt5.Mqtt5Client;
let jobs: iotjobs.IotJobsClientv2;

beforeAll(async () => {
  fleet = await startFleet({ services: { 'jobs-service': ['$aws/things/+/jobs/#'] } });
  const s = await fleet.device('jobs-service');
  serviceMqtt = await connectDevice({ url: fleet.url, cert: s.cert, key: s.key, ca: fleet.ca.certificatePem, servername: 'localhost' });
  service = await startJobsService({ mqtt: serviceMqtt, store: new MemoryJobsStore(), operatorApi: false });
  const d = await fleet.device(THING);
  client = await connectAwsMqtt5({ port: fleet.broker.port, cert: d.cert, key: d.key, ca: fleet.ca.certificatePem, clientId: THING });
  jobs = iotjobs.IotJobsClientv2.newFromMqtt5(client, { maxRequestResponseSubscriptions: 6, maxStreamingSubscriptions: 2, operationTimeoutInSeconds: 15 });
}, 60_000);

afterAll(async () => {
  jobs?.close();
  await closeAwsMqtt5(client);
  await service?.close();
  await serviceMqtt?.close({ force: true });
  await fleet?.stop();
});

describe('AWS IoT Device SDK v2 (IotJobsClientv2) against the reference service', () => {
  it('GetPending, StartNext, Update to SUCCEEDED; VersionMismatch and TerminalStateReached come back as modeled errors', async () => {
    await service.createJob({ jobId: 'aws-1', document: { operation: 'reboot' }, targets: [THING] });
    const pending = await jobs.getPendingJobExecutions({ thingName: THING });
    expect(pending.queuedJobs?.map((j) => j.jobId)).toEqual(['aws-1']);

    const next = await jobs.startNextPendingJobExecution({ thingName: THING, stepTimeoutInMinutes: 5, statusDetails: { step: 'start' } });
    expect(next.execution).toMatchObject({ jobId: 'aws-1', thingName: THING, status: 'IN_PROGRESS', versionNumber: 2, jobDocument: { operation: 'reboot' } });

    const stale = await jobs.updateJobExecution({ thingName: THING, jobId: 'aws-1', status: iotjobs.model.JobStatus.SUCCEEDED, expectedVersion: 1 }).catch((e: unknown) => e);
    expect(JSON.stringify((stale as { modeledError?: unknown }).modeledError)).toContain('VersionMismatch');

    const done = await jobs.updateJobExecution({ thingName: THING, jobId: 'aws-1', status: iotjobs.model.JobStatus.SUCCEEDED, expectedVersion: 2, includeJobExecutionState: true });
    expect(done.executionState).toMatchObject({ status: 'SUCCEEDED', versionNumber: 3 });
    expect(service.describeJob('aws-1')).toMatchObject({ status: 'COMPLETED', executions: { SUCCEEDED: 1 } });

    const terminal = await jobs.describeJobExecution({ thingName: THING, jobId: 'aws-1' }).catch((e: unknown) => e);
    expect(JSON.stringify((terminal as { modeledError?: unknown }).modeledError)).toContain('TerminalStateReached');
  }, 60_000);
});
