import { expect, test } from 'vitest';
import { runDemo } from '../src/index.js';

test('the shadow chapter: an offline device picks up the new interval, applies and reports it', async () => {
  let out = '';
  let err = '';
  const code = await runDemo(['--chapter', 'shadowSync', '--json'], { stdout: (t) => { out += t; }, stderr: (t) => { err += t; } });
  expect(err).toBe('');
  expect(code).toBe(0);
  const s = (JSON.parse(out) as Record<string, any>)['shadowSync'];
  expect(s.appliedIntervalS).toBe(15);
  expect(s.deltaSource).toBe('get'); // found by the GET after the reconnect, not by a live notification
  expect(s.deltasHandled).toBe(1);
  expect(s.pendingPatches).toBe(1);
  expect(s.delta).toBeNull();
  expect(s.reported).toEqual({ reportIntervalS: 15, firmware: '2.3.1', battery: 80 });
  expect(s.versions.desiredWritten).toBe(s.versions.beforeOffline + 1);
  expect(s.versions.converged).toBeGreaterThan(s.versions.desiredWritten);
});
