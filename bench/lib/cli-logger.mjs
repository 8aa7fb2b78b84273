// The logger `slime hub run` and `slime agent run` give the hub and the agent (packages/cli
// loggerFor with its defaults: level info, JSON lines, a synchronous write per line to stdout when
// it is a file), so the bench measures the default configuration, access log included. Lines go
// to /dev/null: the same write(2) per line as a file or pipe, without filling the console.
import { openSync, writeSync } from 'node:fs';
// The CLI's own logger module (the package exports only its pure parts, not this one).
import { createLogger } from '../../packages/cli/dist/logger.js';

let fd;

export function cliLogger(level = 'info') {
  fd ??= openSync('/dev/null', 'w');
  return createLogger({ level, format: 'json', write: (line) => writeSync(fd, line) });
}
