// The console's HTTP surface against a real fleet (Mosquitto with mTLS, the pipeline, the
// shadow service): nothing but the login without a session, a wrong token gets nothing, a
// write without the CSRF token is refused, strict CSP, loopback only without TLS, and the
// event stream resumes from Last-Event-ID.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleError, startConsole } from '../src/index.js';
import { startConsoleFleet, type ConsoleFleet } from './fixtures/console-fleet.js';
import { readSse } from './fixtures/sse.js';

let f: ConsoleFleet;
let cookie: string;
let csrf: string;

beforeAll(async () => {
  f = await startConsoleFleet();
});
afterAll(async () => {
  await f?.stop();
});

const url = (path: string): string => new URL(path, f.console.url).href;

async function login(token: string): Promise<Response> {
  return fetch(url('/login'), { method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() });
}

describe('authentication', () => {
  it('refuses a non-loopback bind without TLS, before opening anything', async () => {
    const err = await startConsole({ host: '0.0.0.0', brokerUrl: 'mqtts://nowhere:8883' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsoleError);
    expect((err as ConsoleError).code).toBe('INSECURE_BIND');
  });

  it('a wrong token gets no session and nothing behind the login', async () => {
    const r = await login('not-the-token-at-all');
    expect(r.status).toBe(401);
    expect(r.headers.get('set-cookie')).toBeNull();
    expect(await r.text()).toContain('Wrong token');
    for (const path of ['/api/devices', '/api/session', '/api/events', '/api/history?device=a&metric=b', '/api/shadow/pump-1', '/assets/app.js']) {
      const res = await fetch(url(path), { redirect: 'manual' });
      expect([path, res.status]).toEqual([path, 401]);
    }
    const page = await fetch(url('/'), { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/login');
    const post = await fetch(url('/api/shadow/pump-1/desired'), { method: 'POST', body: '{"desired":{"a":1}}', headers: { 'Content-Type': 'application/json' } });
    expect(post.status).toBe(401);
  });

  it('the right token: an HttpOnly SameSite=Strict session cookie; every answer has a strict CSP', async () => {
    const r = await login(f.console.token);
    expect(r.status).toBe(303);
    const setCookie = r.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^outpost_console=[\w-]{40,}; HttpOnly; SameSite=Strict; Path=\//);
    cookie = setCookie.split(';')[0] as string;
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe');
    const s = await fetch(url('/api/session'), { headers: { cookie } });
    expect(s.status).toBe(200);
    csrf = ((await s.json()) as { csrf: string }).csrf;
    expect(csrf.length).toBeGreaterThan(20);
    const html = await (await fetch(url('/'), { headers: { cookie } })).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/\sstyle=/);
  });

  it('answers only to its own Host (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(url('/login'), { headers: { Host: 'evil.example:80' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });
});

describe('writes need the CSRF token', () => {
  it('a desired edit without X-CSRF-Token, with a wrong one or from another origin is refused; with it, accepted', async () => {
    const body = JSON.stringify({ desired: { interval: 5 } });
    const headers = { cookie, 'Content-Type': 'application/json' };
    const none = await fetch(url('/api/shadow/pump-9/desired'), { method: 'POST', headers, body });
    expect(none.status).toBe(403);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('CSRF');
    const wrong = await fetch(url('/api/shadow/pump-9/desired'), { method: 'POST', headers: { ...headers, 'X-CSRF-Token': `${csrf}x` }, body });
    expect(wrong.status).toBe(403);
    const cross = await fetch(url('/api/shadow/pump-9/desired'), { method: 'POST', headers: { ...headers, 'X-CSRF-Token': csrf, Origin: 'http://evil.example' }, body });
    expect(cross.status).toBe(403);
    // Nothing was written: the shadow does not exist yet.
    const read = await fetch(url('/api/shadow/pump-9'), { headers: { cookie } });
    expect(((await read.json()) as { document: unknown }).document).toBeNull();
    const ok = await fetch(url('/api/shadow/pump-9/desired'), { method: 'POST', headers: { ...headers, 'X-CSRF-Token': csrf }, body });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { accepted: { version: number } }).accepted.version).toBe(1);
  });

  it('bad input gets a typed 400', async () => {
    const r = await fetch(url('/api/shadow/pump-9/desired'), { method: 'POST', headers: { cookie, 'X-CSRF-Token': csrf }, body: '{"desired":[1]}' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
    const h = await fetch(url('/api/history?device=pump-9&metric=t&from=10&to=5'), { headers: { cookie } });
    expect(h.status).toBe(400);
  });
});

describe('the event stream', () => {
  it('a viewer that reconnects with Last-Event-ID gets exactly the frames it missed, not a snapshot', async () => {
    const dev = await f.device('sse-1');
    const first = readSse(url('/api/events'), { cookie });
    expect(await first.status).toBe(200);
    const snap = await first.next((e) => e.event === 'snapshot');
    await dev.publish('devices/sse-1/telemetry', JSON.stringify({ ts: Date.now(), temperature: 1 }));
    const seen = await first.next((e) => e.event === 'frame' && e.data.includes('"sse-1"'));
    expect(Number(seen.id)).toBeGreaterThan(Number(snap.id));
    first.close();
    for (let i = 2; i <= 4; i++) await dev.publish('devices/sse-1/telemetry', JSON.stringify({ ts: Date.now() + i, temperature: i }), { qos: 1 });
    const values: number[] = [];
    const again = readSse(url('/api/events'), { cookie, 'Last-Event-ID': seen.id as string });
    expect(await again.status).toBe(200);
    await again.next((e) => {
      if (e.event !== 'frame') return false;
      const pts = (JSON.parse(e.data) as { points: Record<string, { temperature?: [number[], number[]] }> }).points['sse-1'];
      values.push(...(pts?.temperature?.[1] ?? []));
      return values.includes(4);
    });
    again.close();
    expect(again.events.map((e) => e.event)).not.toContain('snapshot');
    expect(again.events.map((e) => Number(e.id))[0]).toBe(Number(seen.id) + 1);
    expect(values).toEqual([2, 3, 4]);
  });
});

describe('logout', () => {
  it('ends the session and its open event stream; the cookie gets nothing afterwards', async () => {
    const r = await login(f.console.token);
    const own = (r.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const ownCsrf = ((await (await fetch(url('/api/session'), { headers: { cookie: own } })).json()) as { csrf: string }).csrf;
    const stream = readSse(url('/api/events'), { cookie: own });
    expect(await stream.status).toBe(200);
    await stream.next((e) => e.event === 'snapshot');
    const ended = new Promise<void>((resolve) => { const t = setInterval(() => { if (f.console.stats().viewers === 0) { clearInterval(t); resolve(); } }, 20); });
    // Only this stream is open (the earlier tests' readers are gone once the server saw them close).
    while (f.console.stats().viewers !== 1) await new Promise((res) => setTimeout(res, 20));
    const out = await fetch(url('/logout'), { method: 'POST', headers: { cookie: own, 'X-CSRF-Token': ownCsrf } });
    expect(out.status).toBe(200);
    await ended;
    stream.close();
    expect((await fetch(url('/api/session'), { headers: { cookie: own } })).status).toBe(401);
    expect((await fetch(url('/api/session'), { headers: { cookie } })).status).toBe(200); // the other session is untouched
  });
});

describe('HTTPS', () => {
  it('with tls the console serves HTTPS only, and the session cookie is Secure', async () => {
    const { issueServerCertificate } = await import('@outpost/pki');
    const { request } = await import('node:https');
    const server = await issueServerCertificate({ ca: f.fleet.ca, hosts: ['127.0.0.1'] });
    const cc = await f.fleet.device('console-app');
    const c = await startConsole({
      brokerUrl: f.fleet.url, ca: f.fleet.ca.certificatePem, cert: cc.cert, key: cc.key, clientId: 'console-app-https',
      port: 0, tls: { cert: server.certificatePem, key: server.privateKeyPem },
    });
    try {
      expect(c.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
      const call = (method: string, path: string, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> =>
        new Promise((resolve, reject) => {
          const req = request(new URL(path, c.url), {
            method, ca: f.fleet.ca.certificatePem,
            headers: body === undefined ? {} : { 'Content-Type': 'application/x-www-form-urlencoded', Origin: new URL(c.url).origin },
          }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
          });
          req.on('error', reject);
          req.end(body);
        });
      expect((await call('GET', '/login')).status).toBe(200);
      const r = await call('POST', '/login', new URLSearchParams({ token: c.token }).toString());
      expect(r.status).toBe(303);
      expect(String(r.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict; .*Secure|Secure.*HttpOnly/);
      // Plain HTTP to the same port gets no page.
      const plain = await fetch(c.url.replace('https:', 'http:') + 'login').then((x) => x.status, () => 'refused');
      expect(plain).not.toBe(200);
    } finally {
      await c.close();
    }
  });
});
