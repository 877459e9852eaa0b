import { connectIngest, connectJetStreamIngest, PipelineError, type IngestClient, type PipelineStack } from '@outpost/pipeline';
import { CliError, requireString, stringList, type FlagValues } from '../command.js';

// Where `outpost pipeline` takes its messages from: the MQTT broker (`--broker`) or a NATS
// JetStream stream (`--nats`, filled by `outpost bridge`).

/** A connected source of `outpost pipeline`. */
export interface PipelineSource {
  /** What the start line names: the broker URL or the NATS servers. */
  readonly from: string;
  /** The MQTT connection (for `--alert-topic`); none on JetStream. */
  readonly client: IngestClient | undefined;
  stats(): unknown;
  close(): Promise<void>;
}

interface Creds {
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly insecure: boolean;
}

const tlsOf = (c: Creds): { ca?: string; cert?: string; key?: string; insecure?: true } => ({
  ...(c.ca !== undefined ? { ca: c.ca } : {}),
  ...(c.cert !== undefined && c.key !== undefined ? { cert: c.cert, key: c.key } : {}),
  ...(c.insecure ? { insecure: true as const } : {}),
});

/** Connects the source the flags ask for; `CliError` when it cannot. */
export async function connectPipelineSource(values: FlagValues, creds: Creds, stack: PipelineStack): Promise<PipelineSource> {
  const nats = stringList(values, 'nats');
  const clientId = typeof values['client-id'] === 'string' ? values['client-id'] : 'outpost-pipeline';
  try {
    if (nats.length > 0) {
      if (values['broker'] !== undefined) throw new CliError('USAGE', 'give --broker or --nats, not both', 2);
      if (values['alert-topic'] !== undefined) throw new CliError('USAGE', '--alert-topic publishes on the broker connection: it needs --broker', 2);
      // Each message is acknowledged (+ACK) once the pipeline resolved it: durable in every sink, or its dead letter durable.
      const ingest = await connectJetStreamIngest(
        { servers: nats, name: clientId, ...tlsOf(creds), ...(typeof values['durable'] === 'string' ? { durable: values['durable'] } : {}), flow: stack.pipeline },
        (m) => stack.pipeline.handle(m),
      );
      return { from: nats.join(', '), client: undefined, stats: () => ingest.stats(), close: () => ingest.close() };
    }
    const broker = requireString(values['broker'], 'broker');
    const ingest = await connectIngest(
      {
        url: broker,
        clientId,
        ...tlsOf(creds),
        ...(typeof values['group'] === 'string' ? { group: values['group'] } : {}),
        ...(stringList(values, 'topic').length > 0 ? { topics: stringList(values, 'topic') } : {}),
        flow: stack.pipeline, // a store outage pauses intake instead of dead-lettering
      },
      (m) => stack.pipeline.handle(m),
    );
    return { from: broker, client: ingest.client, stats: () => ingest.stats(), close: () => ingest.close() };
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (e instanceof TypeError || e instanceof RangeError) throw new CliError('USAGE', e.message, 2);
    throw new CliError(e instanceof PipelineError ? e.code : 'INGEST_FAILED', (e as Error).message.split('\n')[0] ?? 'cannot connect');
  }
}
