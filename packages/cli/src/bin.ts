#!/usr/bin/env node
import { homedir } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { batchedWrite } from './batched-write.js';
import { heapTuningFlag } from './heap-tuning.js';
import { main } from './program.js';

// The only place that binds the CLI to the real process.

/**
 * A writer for stdout or stderr that survives its reader going away. Node ignores SIGPIPE, so a
 * closed pipe (`slime hub run | head -1`, a log shipper that died) shows up as an EPIPE 'error'
 * on the stream; unhandled, it would crash the process, and a logger flushing into it at exit
 * could spin forever. Instead the first error stops the writes and the process goes on (and
 * still drains and exits on SIGTERM). `onDropped` hears of the first text dropped after that,
 * so `slime --help | head -1`, which writes nothing more, stays quiet.
 */
function safeWriter(stream: NodeJS.WriteStream, onDropped: (err: NodeJS.ErrnoException) => void) {
  let failure: NodeJS.ErrnoException | undefined;
  let told = false;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    failure ??= err;
  });
  return (text: string): void => {
    if (failure === undefined) {
      try {
        stream.write(text);
        return;
      } catch (err) {
        failure = err as NodeJS.ErrnoException;
      }
    }
    if (!told) {
      told = true;
      onDropped(failure);
    }
  };
}

// Before the hub or agent allocates anything: see heap-tuning.ts.
const heapFlag = heapTuningFlag(process.execArgv);
if (heapFlag) setFlagsFromString(heapFlag);

const stderr = safeWriter(process.stderr, () => {});
const stdout = batchedWrite(
  safeWriter(process.stdout, (err) =>
    stderr(`slime: stdout is closed (${err.code ?? err.message}); logs are dropped from now on\n`),
  ),
);

main(process.argv.slice(2), {
  env: process.env,
  home: homedir(),
  stdout,
  stderr,
  exit: (code) => process.exit(code),
  stdoutIsTTY: process.stdout.isTTY === true,
  heapTuning: heapFlag,
}).then((code) => {
  if (code !== 0) process.exitCode = code;
});
