import { createRequire } from 'node:module';
import { CliError, type Command } from '../command.js';

const help = `Usage: outpost demo [-- demo options]

Runs the Outpost fleet demo (examples/fleet-demo): an embedded MQTT broker with TLS and
client certificates on 127.0.0.1, a fleet CA, simulated devices, one chapter per capability.
The same as \`pnpm demo\` in a checkout of the Outpost repository.

Options are passed to the demo; \`outpost demo --help\` lists them.`;

// The demo is a private workspace package: present in a checkout (a dev dependency of the CLI),
// never in the published CLI, which therefore does not offer the command at all.
function demoInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@outpost/fleet-demo');
    return true;
  } catch {
    return false;
  }
}

/** `outpost demo`, or nothing where the fleet demo cannot be loaded (the published CLI). */
export const demoCommands: readonly Command[] = !demoInstalled() ? [] : [
  {
    path: ['demo'],
    summary: 'run the fleet demo (embedded broker, fleet CA, simulated devices)',
    help,
    async run(args, io) {
      let mod: { runDemo(args: readonly string[], io: { stdout(t: string): void; stderr(t: string): void }): Promise<number> };
      try {
        const name = '@outpost/fleet-demo';
        mod = (await import(name)) as typeof mod;
      } catch (err) {
        throw new CliError('DEMO_UNAVAILABLE', `the fleet demo is not installed here (${(err as Error).message.split('\n')[0]}); run it from an Outpost checkout with \`pnpm demo\``);
      }
      return mod.runDemo(args, io);
    },
  },
];
