#!/usr/bin/env node
import { homedir } from 'node:os';
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

/**
 * Batches the text written in one turn of the event loop into one write: a busy hub writes an
 * access line per request, and one write(2) each cost ~9 µs of its request path (#19). Lines wait
 * at most until the loop's check phase, or until 64 KiB are pending; at exit (process.exit, an
 * uncaught error) what is pending is written at once, so only a SIGKILL can lose the last
 * turn's lines.
 */
function batched(write: (text: string) => void): (text: string) => void {
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    write(text);
  };
  // stdout's writes are synchronous for files, terminals and (on Linux) pipes, so this one still
  // lands before the process ends
  process.on('exit', flush);
  return (text) => {
    pending += text;
    if (pending.length >= 64 * 1024) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

const stderr = safeWriter(process.stderr, () => {});
const stdout = batched(
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
}).then((code) => {
  if (code !== 0) process.exitCode = code;
});
