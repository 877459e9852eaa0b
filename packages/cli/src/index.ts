/**
 * `@outpost/cli`: the `outpost` command-line tool. The programmatic entry point runs
 * a command line in-process (used by tests and by tools that embed the CLI).
 *
 * @packageDocumentation
 * @module @outpost/cli
 * @document ../README.md
 */
export { run } from './run.js';
export { CliError, emit, parseCommandArgs, requireString } from './command.js';
export type { Command, FlagValues, Io } from './command.js';
