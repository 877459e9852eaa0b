// A child process holding N event-stream viewers of one console until every one has read the
// frame id written to its stdin (or 60 s more have passed); each
// checks that its frame ids follow one another (no event dropped) and counts the points.
// Prints one JSON line: per viewer { first, last, frames, gaps, points }.
import { readSse } from '../test/fixtures/sse.js';

const [url, token, nArg] = process.argv.slice(2) as [string, string, string];
const r = await fetch(new URL('/login', url), { method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}` });
const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0] as string;
const viewers = Array.from({ length: Number(nArg) }, () => {
  const v = { first: -1, last: -1, frames: 0, gaps: 0, points: 0 };
  const reader = readSse(new URL('/api/events', url).href, { cookie }, (e) => {
    if (e.event !== 'frame') return;
    const id = Number(e.id);
    if (v.last >= 0 && id !== v.last + 1) v.gaps++;
    if (v.first < 0) v.first = id;
    v.last = id;
    v.frames++;
    const f = JSON.parse(e.data) as { points: Record<string, Record<string, [number[], unknown[]]>> };
    for (const m of Object.values(f.points)) for (const cols of Object.values(m)) v.points += cols[0].length;
  });
  return { v, reader };
});
await Promise.all(viewers.map((x) => x.reader.status));
process.stdout.write('ready\n');
let input = '';
process.stdin.on('data', (b: Buffer) => { input += b.toString(); });
await new Promise((res) => process.stdin.on('end', res));
const target = Number(input.trim());
const deadline = Date.now() + 60_000;
while (viewers.some((x) => x.v.last < target) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
for (const x of viewers) x.reader.close();
process.stdout.write(`${JSON.stringify(viewers.map((x) => x.v))}\n`);
