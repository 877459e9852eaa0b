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
  /** The flags it takes, when its help is generated from them (`defineCommand`). */
  readonly flags?: FlagTable;
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

/**
 * One flag: how the parser reads it and the line `--help` prints for it, in one place, so the
 * help text and the parser cannot disagree.
 * @internal command plumbing, exported for the package's own commands and tests
 */
export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  /** The value's placeholder in help (`FILE`, `N`); string flags only. */
  readonly arg?: string;
  /** One line (or a few, joined with newlines) for the Options list. */
  readonly help: string;
  /** Listed in the usage line without brackets (the command checks it; the parser cannot). */
  readonly required?: boolean;
}

/** @internal command plumbing */
export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** What {@link defineCommand} builds a {@link Command} from. @internal command plumbing */
export interface CommandSpec {
  readonly path: readonly string[];
  readonly summary: string;
  /** Positional arguments in the usage line, e.g. `HEX` or `DIR`; none when absent. */
  readonly positionals?: string;
  /** What the command does: paragraphs after the usage line. */
  readonly about: string;
  readonly flags: FlagTable;
  /** Lines after `Example:` (without the indentation). */
  readonly example?: string;
  run(parsed: { values: FlagValues & { json: boolean; help: boolean }; positionals: string[] }, io: Io): Promise<number>;
}

function toParseOptions(flags: FlagTable): Options {
  const out: Options = {};
  for (const [name, f] of Object.entries(flags)) {
    out[name] = { type: f.type, ...(f.multiple === true ? { multiple: true } : {}), ...(f.short !== undefined ? { short: f.short } : {}) };
  }
  return out;
}

function flagLabel(name: string, f: FlagSpec): string {
  return `--${name}${f.type === 'string' ? ` ${f.arg ?? 'VALUE'}` : ''}`;
}

/**
 * The `--help` text of a command, generated from its flag table: usage line (required flags bare,
 * the others in brackets), the description, every flag with its help line, and the example.
 * @internal command plumbing, exported for the package's own commands and tests
 */
export function renderHelp(spec: Omit<CommandSpec, 'run' | 'summary'>): string {
  const entries = Object.entries(spec.flags);
  const words = [
    `Usage: outpost ${spec.path.join(' ')}`,
    ...(spec.positionals !== undefined ? [spec.positionals] : []),
    ...entries.filter(([, f]) => f.required === true).map(([n, f]) => flagLabel(n, f)),
    ...entries.filter(([, f]) => f.required !== true).map(([n, f]) => `[${flagLabel(n, f)}]`),
    '[--json]',
  ];
  const usage: string[] = [];
  let line = '';
  for (const w of words) {
    if (line !== '' && line.length + 1 + w.length > 100) {
      usage.push(line);
      line = `    ${w}`;
    } else line = line === '' ? w : `${line} ${w}`;
  }
  usage.push(line);
  const rows: Array<[string, string]> = [
    ...entries.map(([n, f]): [string, string] => [flagLabel(n, f), f.required === true ? `${f.help} (required)` : f.help]),
    ['--json', 'print the result (or the error) as JSON on stdout'],
    ['-h, --help', 'this help'],
  ];
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  const options = rows.map(([l, h]) => `  ${l.padEnd(width)}${h.split('\n').join(`\n  ${' '.repeat(width)}`)}`);
  const example = spec.example === undefined ? [] : ['', 'Example:', ...spec.example.split('\n').map((l) => `  ${l}`)];
  return [...usage, '', spec.about, '', 'Options:', ...options, ...example].join('\n');
}

/**
 * A {@link Command} whose help text and argument parser come from one flag table.
 * @internal command plumbing, exported for the package's own commands and tests
 */
export function defineCommand(spec: CommandSpec): Command {
  return {
    path: spec.path,
    summary: spec.summary,
    help: renderHelp(spec),
    flags: spec.flags,
    run: (args, io) => spec.run(parseCommandArgs(args, toParseOptions(spec.flags), spec.positionals !== undefined), io),
  };
}

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
