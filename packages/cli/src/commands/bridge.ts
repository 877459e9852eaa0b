import { resolve } from 'node:path';
import { PipelineError, startBridge, type Bridge } from '@outpost/pipeline';
import { CliError, defineCommand, requireString, stringList, type Command, type CommandSpec, type Io, untilStopped } from '../command.js';
import { readTextFile } from '../files.js';

// `outpost bridge`: device telemetry from the MQTT broker into a NATS JetStream stream.

async function pem(values: Record<string, unknown>, flag: string, io: Io): Promise<string | undefined> {
  const v = values[flag];
  if (v === undefined) return undefined;
  return readTextFile(resolve(io.cwd, requireString(v, flag)), `--${flag}`);
}

function intFlag(values: Record<string, unknown>, flag: string): number | undefined {
  const v = values[flag];
  if (v === undefined) return undefined;
  const s = requireString(v, flag);
  if (!/^\d+$/.test(s)) throw new CliError('USAGE', `--${flag}: expected a whole number, got "${s}"`, 2);
  return Number(s);
}

async function runBridge({ values }: Parameters<CommandSpec['run']>[0], io: Io): Promise<number> {
  const from = requireString(values['from'], 'from');
  const to = stringList(values, 'to');
  if (to.length === 0) throw new CliError('USAGE', '--to: give at least one NATS URL (nats://host:4222 or tls://host:4222)', 2);
  const insecure = values['insecure'] === true;
  const [ca, cert, key] = [await pem(values, 'ca', io), await pem(values, 'cert', io), await pem(values, 'key', io)];
  // The NATS side uses the broker's CA and identity unless told otherwise (not with --insecure: plain nats://).
  const fallback = <T>(v: T | undefined, dflt: T | undefined): T | undefined => v ?? (insecure ? undefined : dflt);
  const [natsCa, natsCert, natsKey] = [fallback(await pem(values, 'nats-ca', io), ca), fallback(await pem(values, 'nats-cert', io), cert), fallback(await pem(values, 'nats-key', io), key)];
  const replicas = intFlag(values, 'replicas');
  const durationMs = intFlag(values, 'duration');
  const line = (obj: Record<string, unknown>, human: string): void => io.stdout((values.json ? JSON.stringify(obj) : human) + '\n');
  let bridge: Bridge;
  try {
    bridge = await startBridge({
      from: {
        url: from,
        clientId: typeof values['client-id'] === 'string' ? values['client-id'] : 'outpost-bridge',
        ...(ca !== undefined ? { ca } : {}),
        ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
        ...(typeof values['group'] === 'string' ? { group: values['group'] } : {}),
        ...(stringList(values, 'topic').length > 0 ? { topics: stringList(values, 'topic') } : {}),
        ...(insecure ? { insecure: true } : {}),
      },
      to: {
        servers: to,
        name: typeof values['client-id'] === 'string' ? values['client-id'] : 'outpost-bridge',
        ...(natsCa !== undefined ? { ca: natsCa } : {}),
        ...(natsCert !== undefined && natsKey !== undefined ? { cert: natsCert, key: natsKey } : {}),
        ...(typeof values['stream'] === 'string' ? { stream: values['stream'] } : {}),
        ...(replicas !== undefined ? { replicas } : {}),
        ...(insecure ? { insecure: true } : {}),
      },
    });
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) throw new CliError('USAGE', e.message, 2);
    throw new CliError(e instanceof PipelineError ? e.code : 'BRIDGE', (e as Error).message.split('\n')[0] ?? 'cannot start the bridge');
  }
  line({ type: 'started', from, to }, `bridge: ${from} → ${to.join(', ')}`);
  await untilStopped(durationMs);
  await bridge.close();
  const s = bridge.stats();
  line({ type: 'stopped', ...s }, `stopped: ${s.mqtt.received} received, ${s.published} stored (${s.duplicates} duplicates), ${s.mqtt.acked} acknowledged to the broker`);
  return 0;
}

/** `outpost bridge`. */
export const bridgeCommands: readonly Command[] = [
  defineCommand({
    path: ['bridge'],
    summary: 'move device telemetry from the MQTT broker into a NATS JetStream stream (ack after stored)',
    about: `Moves device telemetry from the MQTT broker into a NATS JetStream stream (created when missing:
subjects devices.*.telemetry, R3, a 2-minute duplicate window). Each message is published with a
Nats-Msg-Id (device + payload hash, or the MQTT 5 user property msg-id) and acknowledged to the
broker (PUBACK, in arrival order) only after JetStream acknowledged the publish, i.e. after the
stream's replicas stored it. While the cluster cannot store (no quorum) nothing is acknowledged
and the broker keeps the messages. Run several bridges with the same --group to share the load.
Runs until SIGINT or SIGTERM. With --json: one JSON object per line (startup, final stats).`,
    flags: {
      from: { type: 'string', arg: 'URL', required: true, help: 'the broker: mqtts://host:8883 (mqtt:// only with --insecure)' },
      to: { type: 'string', multiple: true, arg: 'URL', required: true, help: 'a NATS node: tls://host:4222 (nats:// only with --insecure or --nats-ca);\nrepeatable, the client learns the rest of the cluster' },
      ca: { type: 'string', arg: 'FILE', help: "the broker's CA (PEM)" },
      cert: { type: 'string', arg: 'FILE', help: "this bridge's identity on the broker (PEM)" },
      key: { type: 'string', arg: 'FILE', help: 'its private key' },
      'nats-ca': { type: 'string', arg: 'FILE', help: "the cluster's CA (default --ca; none with --insecure)" },
      'nats-cert': { type: 'string', arg: 'FILE', help: "this bridge's NATS identity (default --cert)" },
      'nats-key': { type: 'string', arg: 'FILE', help: 'its private key (default --key)' },
      'client-id': { type: 'string', arg: 'ID', help: 'MQTT client id, unique per bridge and stable across restarts (default outpost-bridge)' },
      group: { type: 'string', arg: 'NAME', help: 'shared-subscription group of the bridges (default bridge)' },
      topic: { type: 'string', multiple: true, arg: 'FILTER', help: 'topic filter, repeatable (default devices/+/telemetry)' },
      stream: { type: 'string', arg: 'NAME', help: 'the stream (default TELEMETRY)' },
      replicas: { type: 'string', arg: 'N', help: 'replicas when the stream is created (default 3)' },
      insecure: { type: 'boolean', help: 'allow plain connections without client certificates (development only)' },
      duration: { type: 'string', arg: 'MS', help: 'stop after MS milliseconds (for tests and smoke runs)' },
    },
    example: 'outpost bridge --from mqtts://broker:8883 --ca ca.pem --cert bridge.pem --key bridge.key \\\n  --client-id bridge-1 --to tls://nats-1:4222 --to tls://nats-2:4222',
    run: runBridge,
  }),
];
