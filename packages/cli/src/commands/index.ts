import type { Command } from '../command.js';
import { bridgeCommands } from './bridge.js';
import { bufferCommands } from './buffer.js';
import { consoleCommands } from './console.js';
import { demoCommands } from './demo.js';
import { jobsCommands } from './jobs.js';
import { loraCommands } from './lora.js';
import { mqttsnCommands } from './mqttsn.js';
import { otaCommands } from './ota.js';
import { otaAgentCommands } from './ota-agent.js';
import { otaRolloutCommands } from './ota-rollout.js';
import { otaTrustCommands } from './ota-trust.js';
import { pipelineCommands } from './pipeline.js';
import { pkiCommands } from './pki.js';
import { provisioningCommands } from './provisioning.js';
import { shadowCommands } from './shadow.js';

/** Every `outpost` subcommand. Each command family lives in its own file under `commands/`. */
export const commands: readonly Command[] = [
  ...bridgeCommands,
  ...bufferCommands,
  ...consoleCommands,
  ...demoCommands,
  ...jobsCommands,
  ...loraCommands,
  ...mqttsnCommands,
  ...otaCommands,
  ...otaAgentCommands,
  ...otaRolloutCommands,
  ...otaTrustCommands,
  ...pipelineCommands,
  ...pkiCommands,
  ...provisioningCommands,
  ...shadowCommands,
];
