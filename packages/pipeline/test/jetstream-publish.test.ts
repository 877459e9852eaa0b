// The bridge's pipelined JetStream publisher against a real NATS server (nats-server 2.9 with
// JetStream, started by test-peers): acks and duplicates by Nats-Msg-Id, many publishes in flight
// on one subscription, refusals, a lost ack timed out by the (manual) clock, and close.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { startNatsCluster, type NatsCluster } from '@outpost/test-peers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemPipelineClock } from '../src/clock.js';
import { PipelineError } from '../src/errors.js';
import { StreamPublisher } from '../src/jetstream-publish.js';
import { manualClock, settle } from './fixtures/manual-clock.js';

let nats: NatsCluster;
let nc: NatsConnection;
beforeAll(async () => {
  nats = await startNatsCluster({ nodes: 1 });
  nc = await connect({ servers: nats.urls.map((u) => u.replace('nats://', '')), noAsyncTraces: true });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'PUB', subjects: ['pub.>'], duplicate_window: 60_000_000_000 });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const withId = (id: string) => {
  const h = headers();
  h.set('Nats-Msg-Id', id);
  return h;
};
const data = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('StreamPublisher', () => {
  it('resolves each publish with the stream’s ack, many in flight at once; a repeated Nats-Msg-Id is a duplicate', async () => {
    const p = new StreamPublisher(nc, 5_000, systemPipelineClock);
    const acks = await Promise.all(Array.from({ length: 500 }, (_, i) => p.publish('pub.a', data(`m${i}`), withId(`id-${i}`))));
    expect(acks.every((a) => !a.duplicate)).toBe(true);
    const again = await Promise.all([p.publish('pub.a', data('m3'), withId('id-3')), p.publish('pub.a', data('new'), withId('id-new'))]);
    expect(again.map((a) => a.duplicate)).toEqual([true, false]);
    expect(p.inFlight).toBe(0);
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info('PUB')).state.messages).toBe(501);
    p.close();
  });

  it('rejects a publish the stream refuses, and one to a subject no stream takes', async () => {
    const p = new StreamPublisher(nc, 5_000, systemPipelineClock);
    const h = withId('x');
    h.set('Nats-Expected-Stream', 'OTHER'); // the stream refuses it (wrong expected stream)
    await expect(p.publish('pub.b', data('x'), h)).rejects.toThrow(/refused/);
    await expect(p.publish('nostream.b', data('x'), withId('y'))).rejects.toBeInstanceOf(PipelineError);
    p.close();
  });

  it('rejects a publish whose ack does not come within timeoutMs (by its clock), and everything waiting at close', async () => {
    const clock = manualClock();
    const p = new StreamPublisher(nc, 1_000, clock);
    // A subscriber that takes the message and never answers stands in for a lost ack.
    const silent = nc.subscribe('silent.x', { callback: () => undefined });
    await nc.flush();
    const lost = p.publish('silent.x', data('x'), withId('lost'));
    const outcome = lost.then(() => 'acked', (e: Error) => e.message);
    await nc.flush();
    await clock.advance(900);
    await settle();
    expect(p.inFlight).toBe(1);
    await clock.advance(400);
    expect(await outcome).toMatch(/no ack within 1000 ms/);
    const waiting = p.publish('silent.x', data('y'), withId('w'));
    p.close();
    await expect(waiting).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(p.publish('pub.a', data('z'), withId('z'))).rejects.toMatchObject({ code: 'CLOSED' });
    silent.unsubscribe();
  });
});
