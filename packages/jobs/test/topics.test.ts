import { describe, expect, it } from 'vitest';
import { checkJobId, checkStreamId, checkThingName, JobsError, jobsTopicPrefix, streamTopicPrefix } from '../src/index.js';

describe('names and topic prefixes', () => {
  it('builds the AWS prefixes', () => {
    expect(jobsTopicPrefix('dev-1.a')).toBe('$aws/things/dev-1.a/jobs');
    expect(streamTopicPrefix('dev-1', 's_1')).toBe('$aws/things/dev-1/streams/s_1');
  });
  it.each(['', 'a/b', 'a+b', '#', 'x'.repeat(129), 'sp ace'])('refuses thing name %j', (bad) => {
    expect(() => checkThingName(bad)).toThrow(JobsError);
  });
  it('refuses job ids over 64 and with dots, stream ids with slashes', () => {
    expect(checkJobId('j'.repeat(64))).toBe('j'.repeat(64));
    expect(() => checkJobId('j'.repeat(65))).toThrow(/job id/);
    expect(() => checkJobId('a.b')).toThrow(JobsError);
    expect(() => checkStreamId('a/b')).toThrow(JobsError);
  });
  it('refuses wrong types with TypeError', () => {
    expect(() => checkThingName(7)).toThrow(TypeError);
    expect(() => checkJobId(undefined)).toThrow(TypeError);
  });
});
