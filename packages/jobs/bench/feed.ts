// A rollout controller's round over a 10,000-device CONTINUOUS job: reading what changed with
// listJobExecutions({ updatedSince }) (the change feed) versus asking describeJobExecution for each
// targeted device. In process (JobsMachine and the service's own functions, no MQTT), so the
// figure is the service's CPU per round; over the broker, each request is also a round trip, and
// the request counts printed are what scale: pages of changes vs one request per device.
// Run: npx tsx --conditions=@outpost/source packages/jobs/bench/feed.ts
import { performance } from 'node:perf_hooks';
import { JobsMachine } from '@outpost/jobs';
import { describeExecutionOf, listExecutionsOf } from '../src/jobs-operator.js';

const DEVICES = 10_000;
const CHANGED = [10, 100, 1000];
const ROUNDS = 7;
const m = new JobsMachine();
const things = Array.from({ length: DEVICES }, (_, i) => `dev-${String(i).padStart(5, '0')}`);
let now = 1_000;
m.createJob({ jobId: 'ro', document: { v: 1 }, targets: things.slice(0, 1), targetSelection: 'CONTINUOUS' }, now);
for (let i = 1; i < DEVICES; i += 500) m.associateTargets('ro', things.slice(i, i + 500), now);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`${DEVICES} executions; median of ${ROUNDS} rounds`);
console.log('changed since last round | feed: requests, ms | per-device describe: requests, ms');
for (const changed of CHANGED) {
  const feed: number[] = [];
  const each: number[] = [];
  let pages = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const since = ++now;
    for (let i = 0; i < changed; i++) m.update(things[(r * 997 + i * 7) % DEVICES]!, 'ro', { status: 'IN_PROGRESS', statusDetails: { n: String(r) } }, now);
    let t = performance.now();
    let token: string | undefined;
    let seen = 0;
    pages = 0;
    do {
      const p = listExecutionsOf(m, 'ro', { updatedSince: since, maxResults: 250, ...(token === undefined ? {} : { nextToken: token }) });
      seen += p.executions.length;
      pages++;
      token = p.nextToken;
    } while (token !== undefined);
    feed.push(performance.now() - t);
    if (seen < changed) throw new Error(`feed saw ${seen} of ${changed}`);
    t = performance.now();
    for (const th of things) describeExecutionOf(m, 'ro', th);
    each.push(performance.now() - t);
  }
  console.log(`${String(changed).padStart(6)} | ${pages} page(s), ${median(feed).toFixed(2)} ms | ${DEVICES}, ${median(each).toFixed(2)} ms`);
}
