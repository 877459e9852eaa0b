// The console's page: a hash router over the views, the event stream, the session's CSRF
// token. `window.outpostConsole` exposes counters for tests and benchmarks.
import { h, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { Store } from './store.js';
import { Device, Devices, History, Live } from './views.js';

const html = htm.bind(h);
const store = new Store();

declare global {
  interface Window { outpostConsole: { store: Store; stats(): { frames: number; gaps: number; lastEventId: number; lags: number[]; devices: number } } }
}
window.outpostConsole = {
  store,
  stats: () => ({ frames: store.frames, gaps: store.gaps, lastEventId: store.lastEventId, lags: [...store.lags], devices: store.devices.size }),
};

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = (): void => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function App({ csrf }: { csrf: string }) {
  const [, setTick] = useState(0);
  useEffect(() => store.onChange(() => setTick((n) => n + 1)), []);
  const hash = useHash();
  const device = /^#\/devices\/(.+)$/.exec(hash);
  const view = device !== null ? 'devices' : hash.startsWith('#/devices') ? 'devices' : hash.startsWith('#/history') ? 'history' : 'live';
  const link = (v: string, label: string) => html`<a href=${`#/${v}`} aria-current=${view === v ? 'page' : undefined}>${label}</a>`;
  return html`<header><h1>Outpost console</h1>
      <nav aria-label="views">${link('live', 'Live')}${link('devices', 'Devices')}${link('history', 'History')}</nav>
      <span class=${store.connected ? 'conn live' : 'conn down'} role="status">${store.connected ? 'live' : 'reconnecting…'}</span></header>
    <main id="view" data-view=${view}>
      ${view === 'live' ? html`<${Live} store=${store} />` : null}
      ${view === 'devices' && device === null ? html`<${Devices} store=${store} />` : null}
      ${device !== null ? html`<${Device} key=${device[1]} store=${store} id=${decodeURIComponent(device[1] as string)} csrf=${csrf} />` : null}
      ${view === 'history' ? html`<${History} store=${store} />` : null}
    </main>`;
}

const session = await fetch('/api/session', { credentials: 'same-origin' });
if (session.status === 401) location.assign('/login');
else {
  const { csrf } = (await session.json()) as { csrf: string };
  store.connect();
  const root = document.getElementById('app');
  if (root !== null) {
    root.textContent = '';
    render(html`<${App} csrf=${csrf} />`, root);
  }
}
