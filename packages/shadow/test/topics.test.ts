// Topic builders and the parser, table-driven: every topic of the AWS "Shadow topics" table,
// classic and named, built, parsed and round-tripped.
import { describe, expect, it } from 'vitest';
import { parseShadowTopic, shadowResponseTopics, shadowTopic, shadowTopicPrefix, type ShadowOperation, type ShadowTopicSuffix } from '../src/index.js';

const table: Array<[ShadowOperation, ShadowTopicSuffix | undefined, string]> = [
  ['get', undefined, 'get'], ['get', 'accepted', 'get/accepted'], ['get', 'rejected', 'get/rejected'],
  ['update', undefined, 'update'], ['update', 'accepted', 'update/accepted'], ['update', 'rejected', 'update/rejected'],
  ['update', 'delta', 'update/delta'], ['update', 'documents', 'update/documents'],
  ['delete', undefined, 'delete'], ['delete', 'accepted', 'delete/accepted'], ['delete', 'rejected', 'delete/rejected'],
];

describe('shadow topics', () => {
  for (const [op, suffix, tail] of table) {
    it(`${tail}: classic and named`, () => {
      const classic = `$aws/things/sensor-1/shadow/${tail}`;
      const named = `$aws/things/sensor-1/shadow/name/cfg_2/${tail}`;
      expect(shadowTopic('sensor-1', op, suffix)).toBe(classic);
      expect(shadowTopic('sensor-1', op, suffix, 'cfg_2')).toBe(named);
      expect(parseShadowTopic(classic)).toEqual({ thingName: 'sensor-1', operation: op, ...(suffix ? { suffix } : {}) });
      expect(parseShadowTopic(named)).toEqual({ thingName: 'sensor-1', shadowName: 'cfg_2', operation: op, ...(suffix ? { suffix } : {}) });
    });
  }

  it('refuses delta/documents on get and delete, bad names and bad operations', () => {
    expect(() => shadowTopic('t', 'get', 'delta')).toThrow(RangeError);
    expect(() => shadowTopic('t', 'delete', 'documents')).toThrow(RangeError);
    expect(() => shadowTopic('a/b', 'get')).toThrow(RangeError);
    expect(() => shadowTopic('t', 'get', undefined, 'x+y')).toThrow(RangeError);
    expect(() => shadowTopic('x'.repeat(129), 'get')).toThrow(RangeError);
    expect(shadowTopicPrefix('x'.repeat(128))).toHaveLength(128 + 19);
    expect(() => shadowTopic('t', 'list' as ShadowOperation)).toThrow(RangeError);
  });

  it('parses only shadow topics', () => {
    for (const t of ['devices/a/telemetry', '$aws/things/a/shadow', '$aws/things/a/shadow/get/delta', '$aws/things/a/shadow/update/accepted/x',
      '$aws/things//shadow/get', '$aws/things/a/shadow/name//get', '$aws/things/a+b/shadow/get', '$aws/things/a/jobs/get', '$aws/things/a/shadow/name/n']) {
      expect(parseShadowTopic(t), t).toBeUndefined();
    }
  });

  it('response topics: the eight a client listens on, never shadow/#', () => {
    const topics = shadowResponseTopics('t', 'n');
    expect(topics).toHaveLength(8);
    expect(topics.every((t) => t.startsWith('$aws/things/t/shadow/name/n/') && !t.includes('#'))).toBe(true);
    expect(topics.map((t) => parseShadowTopic(t)?.suffix).every((s) => s !== undefined)).toBe(true);
  });
});
