// AWS IoT reserved topics for Jobs and MQTT-based file delivery. AWS IoT Core Developer Guide,
// "Reserved topics" → "Job topics" and "MQTT-based file delivery" (streams);
// limits from Jobs-for-AWS-IoT-embedded-sdk `jobs.h`: thing name ≤ 128, job id ≤ 64.

import { JobsError } from './errors.js';

// AWS thing names are [a-zA-Z0-9:_-]{1,128}; Outpost device ids ([A-Za-z0-9._-]{1,64}) add '.',
// so both are accepted. No '/', '+', '#': a name is one topic level and never a wildcard.
const THING_RE = /^[A-Za-z0-9.:_-]{1,128}$/;
const JOB_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const STREAM_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

function check(kind: string, re: RegExp, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`${kind} must be a string, got ${typeof value}`);
  if (!re.test(value)) throw new JobsError('BAD_NAME', `${kind} ${JSON.stringify(value.slice(0, 200))} must match ${re.source}`, value);
  return value;
}

/**
 * Checks a thing name (1–128 of `A-Za-z0-9.:_-`) and returns it.
 *
 * @throws TypeError when not a string; {@link JobsError} `BAD_NAME` otherwise.
 * @example
 * ```ts
 * import { checkThingName } from '@outpost/jobs';
 * checkThingName('sensor-0001'); // 'sensor-0001'
 * ```
 */
export function checkThingName(name: unknown): string {
  return check('thing name', THING_RE, name);
}

/**
 * Checks a job id (1–64 of `A-Za-z0-9_-`) and returns it.
 *
 * @throws TypeError when not a string; {@link JobsError} `BAD_NAME` otherwise.
 * @example
 * ```ts
 * import { checkJobId } from '@outpost/jobs';
 * checkJobId('fw-2-1-0'); // 'fw-2-1-0'
 * ```
 */
export function checkJobId(id: unknown): string {
  return check('job id', JOB_ID_RE, id);
}

/**
 * Checks a stream id (1–128 of `A-Za-z0-9_-`) and returns it.
 *
 * @throws TypeError when not a string; {@link JobsError} `BAD_NAME` otherwise.
 * @example
 * ```ts
 * import { checkStreamId } from '@outpost/jobs';
 * checkStreamId('fw-2-1-0'); // 'fw-2-1-0'
 * ```
 */
export function checkStreamId(id: unknown): string {
  return check('stream id', STREAM_ID_RE, id);
}

/**
 * The prefix of every jobs topic of one thing: `$aws/things/{thing}/jobs`.
 *
 * @example
 * ```ts
 * import { jobsTopicPrefix } from '@outpost/jobs';
 * jobsTopicPrefix('lamp-1'); // '$aws/things/lamp-1/jobs'
 * ```
 */
export function jobsTopicPrefix(thing: string): string {
  return `$aws/things/${checkThingName(thing)}/jobs`;
}

/**
 * The prefix of every topic of one stream of one thing: `$aws/things/{thing}/streams/{streamId}`.
 *
 * @example
 * ```ts
 * import { streamTopicPrefix } from '@outpost/jobs';
 * streamTopicPrefix('lamp-1', 'fw-7'); // '$aws/things/lamp-1/streams/fw-7'
 * ```
 */
export function streamTopicPrefix(thing: string, streamId: string): string {
  return `$aws/things/${checkThingName(thing)}/streams/${checkStreamId(streamId)}`;
}
