/**
 * The fleet bench's observer in its own process (an application on the broker, as in a real
 * deployment, not a guest of the gateway's event loop): subscribes at QoS 1 to a filter and
 * answers the line `count` on stdin with `<messages seen> <its CPU µs so far>`; `reset` zeroes
 * the count. Connection details in OUTPOST_OBS_URL / _CA / _CERT / _KEY (PEM files) and
 * OUTPOST_OBS_FILTER. Not part of the package.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { connectAsync } from 'mqtt';

const env = (k: string): string => process.env[`OUTPOST_OBS_${k}`] ?? '';
const mq = await connectAsync(env('URL'), { clientId: 'app-observer', ca: readFileSync(env('CA'), 'utf8'), cert: readFileSync(env('CERT'), 'utf8'), key: readFileSync(env('KEY'), 'utf8'), reconnectPeriod: 0 });
let seen = 0;
mq.on('message', () => { seen += 1; });
await mq.subscribeAsync(env('FILTER'), { qos: 1 });
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'reset') seen = 0;
  const c = process.cpuUsage();
  process.stdout.write(`${seen} ${c.user + c.system}\n`);
}
await mq.endAsync();
