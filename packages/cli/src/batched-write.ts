/**
 * Batches the text written in one turn of the event loop into one write: a busy hub writes an
 * access line per request, and one write(2) each cost ~9 µs of its request path (#19). Lines wait
 * at most until the loop's check phase, or until 64 KiB are pending; at exit (process.exit, an
 * uncaught error) what is pending is written at once, so only a SIGKILL can lose the last
 * turn's lines. `slime` writes its stdout through this (bin.ts), and the bench's loggers too, so
 * they measure what the CLI does.
 */
export function batchedWrite(write: (text: string) => void): (text: string) => void {
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
