import type { Command } from '../command.js';
import { demoCommands } from './demo.js';

/** Every `outpost` subcommand. Each command family lives in its own file under `commands/`. */
export const commands: readonly Command[] = [
  ...demoCommands,
];
