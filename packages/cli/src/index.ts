/**
 * {@include ../README.md#site}
 *
 * @packageDocumentation
 * @module @outpost/cli
 */
export { run } from './run.js';
export { CliError, emit, parseCommandArgs, requireString } from './command.js';
export type { Command, FlagValues, Io } from './command.js';
