// The views: Live (charts, alert feed, silent devices), Devices (list and one device with its
// shadow and an edit of desired), History (a range from the store).
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { HistoryChart, LiveChart } from './chart.js';
import type { AlertEvent, DeviceView, ShadowView, Store } from './store.js';

const html = htm.bind(h);
const PAGE = 12;

const ago = (t: number): string => {
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
};
const time = (t: number): string => new Date(t).toLocaleTimeString();

function AlertItem({ a }: { a: AlertEvent }) {
  return html`<li class=${a.kind}><strong>${a.kind === 'fired' ? 'FIRED' : 'RESOLVED'}</strong> ${a.ruleId} on${' '}<a href=${`#/devices/${encodeURIComponent(a.device)}`}>${a.device}</a>${a.metric !== null ? ` · ${a.metric} = ${a.value ?? '–'}` : ''}
    <span class="muted"> · ${a.severity} · ${time(a.at)}</span></li>`;
}

export function Live({ store }: { store: Store }) {
  const [filter, setFilter] = useState('');
  const [page, setPage] = useState(0);
  const metrics = [...store.metrics].sort();
  const [metric, setMetric] = useState('');
  const m = metric !== '' && store.metrics.has(metric) ? metric : ([...store.metrics][0] ?? ''); // the first metric seen
  const ids = [...store.devices.keys()].filter((id) => id.includes(filter)).sort();
  const pages = Math.max(1, Math.ceil(ids.length / PAGE));
  const p = Math.min(page, pages - 1);
  const shown = ids.slice(p * PAGE, p * PAGE + PAGE);
  const silent = [...store.devices.values()].filter((d) => d.state === 'silent' || d.state === 'offline');
  return html`<div class="live-grid">
    <section aria-labelledby="charts-h">
      <h2 id="charts-h" class="visually-hidden">Live telemetry</h2>
      <div class="toolbar">
        <label>Filter devices<input type="search" value=${filter} onInput=${(e: Event) => { setFilter((e.target as HTMLInputElement).value); setPage(0); }} /></label>
        <label>Metric<select value=${m} onChange=${(e: Event) => setMetric((e.target as HTMLSelectElement).value)}>
          ${metrics.map((x) => html`<option value=${x}>${x}</option>`)}</select></label>
        <div class="pager" role="group" aria-label="pages of devices">
          <button disabled=${p === 0} onClick=${() => setPage(p - 1)}>Previous</button>
          <span>${ids.length === 0 ? 'no devices yet' : `${p * PAGE + 1}–${p * PAGE + shown.length} of ${ids.length}`}</span>
          <button disabled=${p >= pages - 1} onClick=${() => setPage(p + 1)}>Next</button>
        </div>
      </div>
      <div class="charts">${shown.map((id) => html`<article class="card" key=${id}>
        <h3><a href=${`#/devices/${encodeURIComponent(id)}`}>${id}</a> <span class=${`state-${store.devices.get(id)?.state ?? ''}`}>${store.devices.get(id)?.state}</span></h3>
        ${m !== '' ? html`<${LiveChart} key=${`${id}/${m}`} store=${store} device=${id} metric=${m} />` : null}</article>`)}</div>
    </section>
    <aside>
      <section class="card" aria-labelledby="alerts-h">
        <h2 id="alerts-h">Alerts <span class="muted">(${store.active.size} open)</span></h2>
        <ul class="feed" id="alert-feed" role="log" aria-live="polite">${store.alerts.slice(-50).reverse().map((a) => html`<${AlertItem} key=${a.episodeId + a.kind} a=${a} />`)}</ul>
      </section>
      <section class="card" aria-labelledby="silent-h">
        <h2 id="silent-h">Silent devices</h2>
        ${silent.length === 0 ? html`<p class="muted">None.</p>` : html`<ul id="silent-list">${silent.map((d) => html`<li key=${d.id}>${d.id} <span class="muted">last seen ${ago(d.lastSeen)}</span></li>`)}</ul>`}
      </section>
    </aside>
  </div>`;
}

function lastValues(d: DeviceView): string {
  return [...d.series].map(([m, [, v]]) => `${m}=${v.at(-1) ?? '–'}`).join(', ');
}

export function Devices({ store }: { store: Store }) {
  const [filter, setFilter] = useState('');
  const list = [...store.devices.values()].filter((d) => d.id.includes(filter)).sort((a, b) => a.id.localeCompare(b.id)).slice(0, 100);
  return html`<section>
    <div class="toolbar"><label>Filter devices<input type="search" value=${filter} onInput=${(e: Event) => setFilter((e.target as HTMLInputElement).value)} /></label>
      <span class="muted">${store.devices.size} devices${store.devices.size > 100 ? ', the first 100 shown' : ''}</span></div>
    <table><caption class="visually-hidden">Devices</caption>
      <thead><tr><th scope="col">Device</th><th scope="col">State</th><th scope="col">Last seen</th><th scope="col">Recent values</th></tr></thead>
      <tbody>${list.map((d) => html`<tr key=${d.id}><td><a href=${`#/devices/${encodeURIComponent(d.id)}`}>${d.id}</a></td>
        <td class=${`state-${d.state}`}>${d.state}</td><td>${ago(d.lastSeen)}</td><td>${lastValues(d)}</td></tr>`)}</tbody>
    </table></section>`;
}

async function api(path: string, init?: RequestInit): Promise<Record<string, unknown>> {
  const r = await fetch(path, { credentials: 'same-origin', ...init });
  const body = (await r.json()) as Record<string, unknown>;
  if (!r.ok) throw new Error((body['error'] as { message?: string } | undefined)?.message ?? `HTTP ${r.status}`);
  return body;
}

function Json({ label, value }: { label: string; value: unknown }) {
  const id = `sh-${label}`;
  return html`<div><h3 id=${id}>${label}</h3><pre aria-labelledby=${id} data-section=${label}>${value === undefined ? '—' : JSON.stringify(value, null, 2)}</pre></div>`;
}

export function Device({ store, id, csrf }: { store: Store; id: string; csrf: string }) {
  const [doc, setDoc] = useState<ShadowView | null | undefined>(undefined);
  const [draft, setDraft] = useState('{\n  \n}');
  const [status, setStatus] = useState<{ text: string; error?: boolean }>({ text: '' });
  const [sentVersion, setSentVersion] = useState<number | undefined>(undefined);
  useEffect(() => {
    api(`/api/shadow/${encodeURIComponent(id)}`).then((b) => setDoc(b['document'] as ShadowView | null), (e: Error) => setStatus({ text: e.message, error: true }));
  }, [id]);
  const live = store.shadows.get(id);
  const shown = live !== undefined && (doc === undefined || doc === null || (live?.version ?? 0) >= doc.version) ? live : doc;
  useEffect(() => {
    if (sentVersion !== undefined && shown !== undefined && shown !== null && shown.version > sentVersion) {
      setStatus({ text: `The device reported: shadow at version ${shown.version}.` });
      setSentVersion(undefined);
    }
  }, [shown?.version]);
  const d = store.devices.get(id);
  const send = async (e: Event): Promise<void> => {
    e.preventDefault();
    let desired: unknown;
    try {
      desired = JSON.parse(draft);
    } catch {
      setStatus({ text: 'Desired must be a JSON object.', error: true });
      return;
    }
    setStatus({ text: 'Sending…' });
    try {
      const b = await api(`/api/shadow/${encodeURIComponent(id)}/desired`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify({ desired }) });
      const v = (b['accepted'] as { version: number }).version;
      setSentVersion(v);
      setStatus({ text: `Accepted at version ${v}; waiting for the device's report…` });
    } catch (err) {
      setStatus({ text: (err as Error).message, error: true });
    }
  };
  return html`<section>
    <p><a href="#/devices">← All devices</a></p>
    <h2>${id} ${d !== undefined ? html`<span class=${`state-${d.state}`}>${d.state}</span>` : null}</h2>
    <p class="muted">${d !== undefined ? `Last seen ${ago(d.lastSeen)} · ${lastValues(d)}` : 'No telemetry from this device yet.'}</p>
    <h2>Shadow ${shown !== undefined && shown !== null ? html`<span class="muted" id="shadow-version">version ${shown.version}</span>` : null}</h2>
    ${shown === null ? html`<p class="muted">No shadow yet: writing desired creates it.</p>` : null}
    <div class="shadow">
      <${Json} label="desired" value=${shown?.state.desired} /><${Json} label="reported" value=${shown?.state.reported} /><${Json} label="delta" value=${shown?.state.delta} />
    </div>
    <form class="card edit" onSubmit=${send}>
      <label for="desired-edit">Edit desired (a JSON patch: keys to set, null to delete)</label>
      <textarea id="desired-edit" value=${draft} onInput=${(e: Event) => setDraft((e.target as HTMLTextAreaElement).value)}></textarea>
      <button type="submit">Send desired</button>
      <p id="edit-status" class=${status.error === true ? 'status error' : 'status'} role="status">${status.text}</p>
    </form></section>`;
}

export function History({ store }: { store: Store }) {
  const [device, setDevice] = useState([...store.devices.keys()].sort()[0] ?? '');
  const [metric, setMetric] = useState([...store.metrics].sort()[0] ?? '');
  const [range, setRange] = useState('3600000');
  const [result, setResult] = useState<{ buckets: Array<{ bucket: number; avg: number | null; min: number | null; max: number | null; count: number }>; bucketMs: number } | undefined>(undefined);
  const [status, setStatus] = useState('');
  const load = async (e: Event): Promise<void> => {
    e.preventDefault();
    const to = Date.now();
    const q = new URLSearchParams({ device, metric, from: String(to - Number(range)), to: String(to), points: '300' });
    setStatus('Loading…');
    try {
      const b = (await api(`/api/history?${q.toString()}`)) as unknown as NonNullable<typeof result>;
      setResult(b);
      setStatus(`${b.buckets.length} buckets of ${b.bucketMs / 1000} s, ${b.buckets.reduce((n, x) => n + x.count, 0)} points.`);
    } catch (err) {
      setStatus((err as Error).message);
    }
  };
  return html`<section>
    <form class="toolbar" onSubmit=${load}>
      <label>Device<input list="device-ids" value=${device} required onInput=${(e: Event) => setDevice((e.target as HTMLInputElement).value)} /></label>
      <datalist id="device-ids">${[...store.devices.keys()].sort().slice(0, 500).map((d) => html`<option value=${d} />`)}</datalist>
      <label>Metric<input list="metric-names" value=${metric} required onInput=${(e: Event) => setMetric((e.target as HTMLInputElement).value)} /></label>
      <datalist id="metric-names">${[...store.metrics].sort().map((m) => html`<option value=${m} />`)}</datalist>
      <label>Range<select value=${range} onChange=${(e: Event) => setRange((e.target as HTMLSelectElement).value)}>
        <option value="900000">last 15 minutes</option><option value="3600000">last hour</option>
        <option value="21600000">last 6 hours</option><option value="86400000">last 24 hours</option><option value="604800000">last 7 days</option></select></label>
      <button type="submit">Show</button>
    </form>
    <p id="history-status" role="status" class="muted">${status}</p>
    ${result !== undefined ? html`<div class="card"><${HistoryChart} buckets=${result.buckets} /></div>` : null}
  </section>`;
}
