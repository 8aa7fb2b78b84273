#!/usr/bin/env node
import { homedir } from 'node:os';
import { main } from './program.js';

// The only place that binds the CLI to the real process.
main(process.argv.slice(2), {
  env: process.env,
  home: homedir(),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  exit: (code) => process.exit(code),
}).then((code) => {
  if (code !== 0) process.exitCode = code;
});
