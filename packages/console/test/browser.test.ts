// The console in a real headless Chromium against a real fleet: Mosquitto with mTLS, device
// clients, the pipeline raising alerts on alerts/…, the reference shadow service, DuckDB.
// Screenshots of each view go to a temp dir, or to docs/screenshots with UPDATE_SCREENSHOTS=1.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'puppeteer-core';
import { createShadowClient, type ShadowClient } from '@outpost/shadow';
import { tempDir } from '@outpost/test-peers';
import { startConsoleFleet, type ConsoleFleet } from './fixtures/console-fleet.js';
import { launchChromium, logIn } from './fixtures/browser.js';
import type { DeviceClient } from '@outpost/device-sdk';

// Page-side code (page.evaluate, waitForFunction) runs in the browser; the repo's Node program
// has no DOM lib, so these few globals are declared here, for this file only.
interface PageNode { textContent: string | null }
declare const document: { querySelector(s: string): PageNode | null; querySelectorAll(s: string): Iterable<PageNode> };
declare const window: { outpostConsole: { stats(): { frames: number; gaps: number; lastEventId: number; lags: number[]; devices: number } } };

const shots = process.env['UPDATE_SCREENSHOTS'] === '1' ? join(import.meta.dirname, '..', '..', '..', 'docs', 'screenshots') : tempDir('outpost-console-shots-').path;
mkdirSync(shots, { recursive: true });

let f: ConsoleFleet;
let browser: Browser;
let page: Page;
let pump: DeviceClient;
let shadow: ShadowClient;
const deltas: unknown[] = [];
const pageProblems: string[] = [];

const reading = (device: DeviceClient, id: string, temperature: number, ts = Date.now()) =>
  device.publish(`devices/${id}/telemetry`, JSON.stringify({ ts, temperature, humidity: 40 + (temperature % 7) }), { qos: 1 });

beforeAll(async () => {
  f = await startConsoleFleet();
  browser = await launchChromium();
  page = await browser.newPage();
  await page.setViewport({ width: 1366, height: 800 });
  // CSP violations and script errors (failed requests, like the refused write below, are not).
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageProblems.push(m.text()); });
  page.on('pageerror', (e) => pageProblems.push(String(e)));
  pump = await f.device('pump-1');
  shadow = await createShadowClient({ mqtt: pump, thingName: 'pump-1', requestTimeoutMs: 3_000, retryDelayMs: 200 });
  // The device applies what it is asked and reports it.
  shadow.onDelta(async (delta) => {
    deltas.push(delta);
    await shadow.report(delta);
  });
  // A little history for a few more devices, so the views have something to show.
  const now = Date.now();
  for (const id of ['pump-2', 'fan-1', 'fan-2']) {
    const d = await f.device(id);
    for (let i = 60; i >= 0; i--) await reading(d, id, 50 + 10 * Math.sin(i / 6) + id.length, now - i * 1000);
  }
  for (let i = 60; i >= 1; i--) await reading(pump, 'pump-1', 60 + 5 * Math.cos(i / 5), now - i * 1000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await shadow?.close();
  await f?.stop();
});

const text = (sel: string) => page.$eval(sel, (el) => el.textContent ?? '');

/** Replaces a controlled field's text as a person would (select all, type): every keystroke goes through the page's state. */
async function retype(sel: string, value: string): Promise<void> {
  await page.focus(sel);
  await page.keyboard.down('Control');
  await page.keyboard.press('KeyA');
  await page.keyboard.up('Control');
  await page.keyboard.press('Backspace');
  await page.type(sel, value);
}

describe('the console in headless Chromium', () => {
  it('a wrong token gets nothing: the login page again, no session', async () => {
    await page.goto(new URL('/login', f.console.url).href);
    await page.screenshot({ path: join(shots, 'console-login.png') });
    await page.type('#token', 'wrong-token-wrong-token');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(await text('.error')).toBe('Wrong token.');
    const api = await page.evaluate(async () => (await fetch('/api/devices')).status);
    expect(api).toBe(401);
    await page.goto(f.console.url);
    expect(new URL(page.url()).pathname).toBe('/login');
  });

  it('logs in with the token; a device publishes and its chart shows the new point within 1 s', async () => {
    await logIn(page, f.console.url, f.console.token);
    await page.waitForSelector('figure[data-device="pump-1"] figcaption[data-points]');
    await page.select('select', 'temperature');
    await page.waitForFunction(() => document.querySelector('figure[data-device="pump-1"] figcaption')?.textContent?.startsWith('last temperature'));
    const value = 73.25;
    await reading(pump, 'pump-1', value);
    // The point is drawn on pump-1's chart (its caption is written in the same animation frame).
    await page.waitForSelector(`figure[data-device="pump-1"] figcaption[data-last="${value}"]`, { timeout: 1_000 });
    const stats = await page.evaluate(() => window.outpostConsole.stats());
    expect(stats.gaps).toBe(0);
    expect(stats.lags.length).toBeGreaterThan(0);
  });

  it('an overheat fires an alert that appears in the feed, then resolves', async () => {
    await reading(pump, 'pump-1', 91);
    await page.waitForFunction(() => [...document.querySelectorAll('#alert-feed li.fired')].some((li) => li.textContent?.includes('overheat') && li.textContent.includes('pump-1')), { timeout: 10_000 });
    expect(await text('#alerts-h')).toContain('1 open');
    await page.screenshot({ path: join(shots, 'console-live.png') });
    await reading(pump, 'pump-1', 70);
    await page.waitForSelector('#alert-feed li.resolved', { timeout: 10_000 });
    expect(await text('#alert-feed li.resolved')).toContain('overheat');
    expect(await text('#alerts-h')).toContain('0 open');
  });

  it('a desired edit in the page reaches the device through Mosquitto; its report appears in the page', async () => {
    await page.goto(`${f.console.url}#/devices`);
    await page.waitForSelector('table tbody tr');
    await page.screenshot({ path: join(shots, 'console-devices.png') });
    await page.click('a[href="#/devices/pump-1"]');
    await page.waitForSelector('#desired-edit');
    await retype('#desired-edit', '{"intervalS": 5}');
    await page.click('form.edit button[type=submit]');
    await page.waitForFunction(() => document.querySelector('pre[data-section="reported"]')?.textContent?.includes('"intervalS": 5'), { timeout: 10_000 })
      .catch(async (e: unknown) => { throw new Error(`${String(e)}; the page says: ${await text('#edit-status')}`); });
    expect(deltas).toContainEqual({ intervalS: 5 });
    await page.waitForFunction(() => document.querySelector('#edit-status')?.textContent?.includes('The device reported'), { timeout: 5_000 });
    expect(await text('pre[data-section="delta"]')).toBe('—');
    await page.screenshot({ path: join(shots, 'console-device.png') });
  });

  it('a write without the CSRF token is refused, and the device gets nothing', async () => {
    const before = deltas.length;
    const status = await page.evaluate(async () => {
      const r = await fetch('/api/shadow/pump-1/desired', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ desired: { intervalS: 99 } }) });
      return { status: r.status, code: ((await r.json()) as { error: { code: string } }).error.code };
    });
    expect(status).toEqual({ status: 403, code: 'CSRF' });
    const doc = await page.evaluate(async () => ((await (await fetch('/api/shadow/pump-1')).json()) as { document: { state: { desired: unknown } } }).document.state.desired);
    expect(doc).toEqual({ intervalS: 5 });
    expect(deltas.length).toBe(before);
  });

  it('History: a time range downsampled by the store', async () => {
    await page.goto(`${f.console.url}#/history`);
    await page.waitForSelector('#view[data-view="history"] form');
    await retype('input[list="device-ids"]', 'fan-1');
    await retype('input[list="metric-names"]', 'temperature');
    await page.select('select', '900000');
    await page.click('#view form button[type=submit]');
    await page.waitForFunction(() => /\d+ buckets/.test(document.querySelector('#history-status')?.textContent ?? ''), { timeout: 10_000 });
    const status = await text('#history-status');
    expect(Number(/, (\d+) points/.exec(status)?.[1])).toBe(61); // every point fan-1 sent, in buckets
    await page.waitForSelector('.uplot');
    await page.screenshot({ path: join(shots, 'console-history.png') });
  });

  it('the page broke no Content-Security-Policy rule and threw nothing', () => {
    expect(pageProblems).toEqual([]);
  });
});
