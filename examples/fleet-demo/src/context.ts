import type { FleetCA } from '@outpost/pki';

/** What a chapter gets: the fleet, the broker, output, and the summary it adds to. */
export interface DemoContext {
  readonly ca: FleetCA;
  /** Broker URL every device connects to. */
  readonly url: string;
  /** MQTT protocol version the broker speaks (the embedded Aedes: 4). */
  readonly protocolVersion: 4 | 5;
  /** Present when the demo runs its own broker. */
  readonly embedded: import('./broker.js').EmbeddedBroker | undefined;
  /** PostgreSQL URL for the pipeline chapter (`--pg`); embedded DuckDB when absent. */
  readonly pg?: string | undefined;
  /** InfluxDB 1.x URL for the pipeline chapter (`--influx`): a further time-series sink. */
  readonly influx?: string | undefined;
  /** Issues (and remembers) a certificate for a device id. */
  device(id: string): Promise<{ readonly cert: string; readonly key: string }>;
  /** Prints a line of the demo's story (suppressed with --json). */
  say(line: string): void;
  /** The machine-readable summary, one key per chapter. */
  readonly summary: Record<string, unknown>;
}

/** One chapter of the demo. */
export interface Chapter {
  readonly id: string;
  readonly title: string;
  run(ctx: DemoContext): Promise<void>;
}
