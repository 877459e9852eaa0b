// One gateway's OTA agent as its own process, for the demo device that loses power: the chapter
// kills it with SIGKILL mid-download. It connects with its own certificate, runs runOtaAgent over
// its directory and prints one JSON line per event; exit 75 = reboot me.
import { readFileSync } from 'node:fs';
import { connectDevice } from '@outpost/device-sdk';
import { imageDownloader, OTA_REBOOT_EXIT_CODE, runOtaAgent, streamDownloader } from '@outpost/ota/jobs';

interface Args { url: string; id: string; dir: string; certFile: string; keyFile: string; caFile: string; hwRevision: string; capacity: number; protocolVersion: 4 | 5 }

const a = JSON.parse(process.argv[2] ?? '{}') as Args;
const out = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());

const mqtt = await connectDevice({ url: a.url, cert: readFileSync(a.certFile, 'utf8'), key: readFileSync(a.keyFile, 'utf8'), ca: readFileSync(a.caFile, 'utf8'), protocolVersion: a.protocolVersion });
const outcome = await runOtaAgent({
  dir: a.dir, device: { vendor: 'outpost-demo', deviceClass: 'gateway-1', hwRevision: a.hwRevision }, capacity: a.capacity, mqtt, thingName: a.id,
  healthCheck: async () => ({ ok: true }), watch: true, signal: stop.signal, retryDelayMs: 100, jobs: { requestTimeoutMs: 2000 },
  downloader: imageDownloader({ stream: streamDownloader({ mqtt, thing: a.id, blockDigestsFileId: 1, journalEveryBytes: 8192, timeoutMs: 500, onDownloaded: (r) => out({ type: 'downloaded', resumedFrom: r.resumedFrom, fetched: r.fetched, size: r.size }) }) }),
  onBoot: (b) => out({ type: 'boot', version: b.manifest.version, trial: b.trial }),
  onEvent: (event) => out({ type: 'event', event }),
});
await mqtt.close();
process.exit(outcome === 'rebooting' ? OTA_REBOOT_EXIT_CODE : 0);
