import type { Command } from '../command.js';
import { bridgeCommands } from './bridge.js';
import { bufferCommands } from './buffer.js';
import { demoCommands } from './demo.js';
import { loraCommands } from './lora.js';
import { mqttsnCommands } from './mqttsn.js';
import { otaCommands } from './ota.js';
import { pipelineCommands } from './pipeline.js';
import { pkiCommands } from './pki.js';
import { shadowCommands } from './shadow.js';

/** Every `outpost` subcommand. Each command family lives in its own file under `commands/`. */
export const commands: readonly Command[] = [
  ...bridgeCommands,
  ...bufferCommands,
  ...demoCommands,
  ...loraCommands,
  ...mqttsnCommands,
  ...otaCommands,
  ...pipelineCommands,
  ...pkiCommands,
  ...shadowCommands,
];
