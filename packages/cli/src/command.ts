import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Where a command writes; injectable so tests can capture output. */
export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly cwd: string;
}

/** One `outpost` subcommand, e.g. `pki init-ca`. */
export interface Command {
  /** Words after `outpost`, e.g. `['pki', 'init-ca']`. */
  readonly path: readonly string[];
  /** One line for the command list. */
  readonly summary: string;
  /** Full `--help` text (usage line, options, an example). */
  readonly help: string;
  /** Runs with the arguments after the command path; returns the exit code. */
  run(args: readonly string[], io: Io): Promise<number>;
}

/** An error the CLI prints as one line (`outpost: <message>`) and exits non-zero with. */
export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Common flags every command accepts. */
export const commonOptions = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options;

/** Parsed flag values: strings, booleans, or arrays of them for `multiple` flags. */
export type FlagValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

/**
 * Strict argument parsing: unknown flags and stray positionals are a `CliError`
 * with code `USAGE` (exit code 2), never silently ignored.
 * @internal command plumbing, exported for the package's own commands and tests
 */
export function parseCommandArgs(
  args: readonly string[],
  options: Options,
  allowPositionals = false,
): { values: FlagValues & { json: boolean; help: boolean }; positionals: string[] } {
  const all: Options = { ...commonOptions, ...options };
  try {
    const r = parseArgs({ args: joinNegativeValues(args, all), options: all, allowPositionals, strict: true });
    const values = r.values as FlagValues;
    return { values: { ...values, json: values['json'] === true, help: values['help'] === true }, positionals: r.positionals };
  } catch (err) {
    throw new CliError('USAGE', (err as Error).message.split('\n')[0] ?? 'bad arguments', 2);
  }
}

/**
 * `--from -6h` or `--offset -3`: a value that starts with '-' would read as a flag to
 * util.parseArgs. After a string-valued long flag, a token that starts with '-' and a digit or
 * '.' is its value, so it is joined as `--from=-6h`.
 */
function joinNegativeValues(args: readonly string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const next = args[i + 1];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/**
 * Requires a string flag; throws a one-line usage error naming it.
 * @internal command plumbing, exported for the package's own commands and tests
 */
export function requireString(value: unknown, flag: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new CliError('USAGE', `missing required option --${flag}`, 2);
  }
  return value;
}

/** The string values of a repeatable flag (`--host a --host b`; a single-valued one gives one), or `[]`. */
export function stringList(values: FlagValues, flag: string): string[] {
  const v = values[flag];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
}

/**
 * Writes a result either as JSON (`--json`) or as human-readable lines.
 * @internal command plumbing, exported for the package's own commands and tests
 */
export function emit(io: Io, json: boolean, result: unknown, human: string): void {
  if (json) io.stdout(JSON.stringify(result, null, 2) + '\n');
  else io.stdout(human.endsWith('\n') ? human : human + '\n');
}

/**
 * Resolves on SIGINT or SIGTERM, or after `durationMs` when given (used by long-running
 * commands such as `mqttsn-gateway` and `shadow-service`; `--duration` lets tests stop them).
 */
export function untilStopped(durationMs: number | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (timer !== undefined) clearTimeout(timer);
      resolve();
    };
    const timer = durationMs === undefined ? undefined : setTimeout(stop, durationMs);
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
