#!/usr/bin/env node
/** `stats-service-token`: see USAGE in token-commands.ts, or run it with --help. */
import { readFileSync } from 'node:fs';
import { runCli } from './token-commands';

process.exitCode = runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: () => readFileSync(0, 'utf8'),
  now: () => Date.now(),
});
