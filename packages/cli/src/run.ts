import { CliError, type Command, type Io } from './command.js';
import { commands } from './commands/index.js';
import { VERSION } from './version.js';

function overview(): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length));
  const lines = commands.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`);
  return `Usage: outpost <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nEvery command takes --help and --json; outpost --version prints the version.\n`;
}

function find(argv: readonly string[]): { command: Command; rest: readonly string[] } | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (c.path.length <= argv.length && c.path.every((w, i) => argv[i] === w)) {
      if (best === undefined || c.path.length > best.path.length) best = c;
    }
  }
  return best === undefined ? undefined : { command: best, rest: argv.slice(best.path.length) };
}

/**
 * Runs `outpost` with the given arguments and returns the exit code: 0 on success,
 * 1 on a failure, 2 on a usage error. Errors are printed as one line on stderr; with `--json`
 * also as a JSON object on stdout (`{"error":{"code","message","exitCode"}}`), so a script that
 * reads stdout gets a result or an error, never nothing.
 */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-V' || argv[0] === 'version') {
    io.stdout(argv.includes('--json') ? `${JSON.stringify({ version: VERSION })}\n` : `outpost ${VERSION}\n`);
    return 0;
  }
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.stdout(overview());
    return argv.length === 0 ? 2 : 0;
  }
  const json = argv.includes('--json');
  const found = find(argv);
  if (found === undefined) {
    const group = commands.filter((c) => c.path[0] === argv[0]);
    if (group.length > 0 && (argv.length === 1 || argv[1] === '--help' || argv[1] === '-h')) {
      io.stdout(`Commands under "outpost ${argv[0]}":\n${group.map((c) => `  ${c.path.join(' ')}  ${c.summary}`).join('\n')}\n`);
      return argv.length === 1 ? 2 : 0;
    }
    return fail(io, json, new CliError('USAGE', `unknown command "${argv.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ')}" (see outpost --help)`, 2));
  }
  const { command, rest } = found;
  if (command.path[0] !== 'demo' && (rest.includes('--help') || rest.includes('-h'))) {
    io.stdout(command.help.endsWith('\n') ? command.help : command.help + '\n');
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    return fail(io, json, err);
  }
}

function fail(io: Io, json: boolean, err: unknown): number {
  const e = err as { code?: unknown; message?: unknown; exitCode?: unknown };
  const code = typeof e.code === 'string' ? e.code : 'ERROR';
  const message = (typeof e.message === 'string' ? e.message : String(err)).split('\n')[0] ?? '';
  const exitCode = typeof e.exitCode === 'number' ? e.exitCode : 1;
  if (json) io.stdout(JSON.stringify({ error: { code, message, exitCode } }) + '\n');
  io.stderr(`outpost: ${message}${code !== 'ERROR' && code !== 'USAGE' ? ` [${code}]` : ''}\n`);
  return exitCode;
}
