// The per-client topic registry (MQTT-SN 1.2 §6.5: topic ids 0x0001…0xFFFE). Once every id is
// taken, assign() must refuse — not loop. The exhaustion case runs in a child process so a
// regression (an endless loop) fails this test instead of freezing the test worker.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TopicRegistry } from '../src/mqtt-sn/topics.js';

const topicsTs = fileURLToPath(new URL('../src/mqtt-sn/topics.ts', import.meta.url));

describe('TopicRegistry', () => {
  it('refuses a new name once all 65,534 ids are taken (a child process with a kill deadline)', () => {
    const script = `
      const { TopicRegistry } = await import(${JSON.stringify(topicsTs)});
      const r = new TopicRegistry();
      for (let i = 0; i < 0xfffe; i++) r.assign('t/' + i);
      const extra = r.assign('one/too/many');
      const again = r.assign('t/7');
      process.stdout.write(JSON.stringify({ extra: extra ?? null, again, size: r.size }));
    `;
    const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
    expect(out.signal, `child: ${out.stderr}`).toBeNull();
    expect(JSON.parse(out.stdout)).toEqual({ extra: null, again: 8, size: 0xfffe });
  });

  it('enforces a per-instance limit and keeps known names', () => {
    const r = new TopicRegistry(3);
    expect([r.assign('a'), r.assign('b'), r.assign('c')]).toEqual([1, 2, 3]);
    expect(r.assign('d')).toBeUndefined();
    expect(r.assign('b')).toBe(2);
    expect(r.size).toBe(3);
    r.clear();
    expect(r.assign('d')).toBe(4);
  });

  it('skips ids the other side set, never hands out 0 or 0xFFFF', () => {
    const r = new TopicRegistry();
    r.set('x', 1);
    r.set('y', 2);
    expect(r.assign('z')).toBe(3);
    expect(r.set('w', 0xfffe)).toBe(true);
    const ids = new Set<number>();
    for (let i = 0; i < 100; i++) ids.add(r.assign(`n${i}`) as number);
    expect(ids.has(0)).toBe(false);
    expect(ids.has(0xffff)).toBe(false);
    expect(ids.has(0xfffe)).toBe(false);
  });

  it('set() refuses a new pair beyond the limit', () => {
    const r = new TopicRegistry(1);
    expect(r.set('a', 5)).toBe(true);
    expect(r.set('b', 6)).toBe(false);
    expect(r.set('a', 7)).toBe(true); // a known name may be re-bound
    expect(r.nameOf(7)).toBe('a');
    expect(r.nameOf(5)).toBeUndefined();
  });
});
