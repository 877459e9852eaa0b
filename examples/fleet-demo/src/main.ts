import process from 'node:process';
import { runDemo } from './index.js';

process.exitCode = await runDemo(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});
