// The logger `slime hub run` and `slime agent run` give the hub and the agent (packages/cli
// loggerFor with its defaults: level info, JSON lines, and bin.ts's stdout: the text of one
// event-loop turn goes out in one write), so the bench measures the default configuration, access
// log included. Lines go to /dev/null: the same write(2) as a file or pipe, without filling the
// console.
import { openSync, writeSync } from 'node:fs';
import { batchedWrite } from '../../packages/cli/dist/batched-write.js';
// The CLI's own logger module (the package exports only its pure parts, not this one).
import { createLogger } from '../../packages/cli/dist/logger.js';

let fd;
let write;

/** What bin.ts does with stdout, into /dev/null: one write(2) per event-loop turn. */
export function devNullWriter() {
  fd ??= openSync('/dev/null', 'w');
  write ??= batchedWrite((text) => writeSync(fd, text));
  return write;
}

export function cliLogger(level = 'info') {
  return createLogger({ level, format: 'json', write: devNullWriter() });
}
