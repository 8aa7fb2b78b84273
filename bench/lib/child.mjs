// Entry point of every bench child process: loads bench/lib/role-<name>.mjs and serves its
// commands over IPC. The child exits when the parent goes away, so a crashed bench leaves nothing
// running.
const role = process.argv[2];
const mod = await import(`./role-${role}.mjs`);
let handlers = {};

process.on('disconnect', () => process.exit(0));
process.on('message', async ({ id, cmd, args }) => {
  try {
    let result;
    if (cmd === 'start') {
      const started = await mod.start(args);
      handlers = started.handlers ?? {};
      result = started.info ?? {};
    } else if (cmd === 'usage') {
      // Own CPU time and memory, for roles that want to report without /proc.
      result = { cpu: process.cpuUsage(), rss: process.memoryUsage().rss };
    } else if (cmd === 'heap') {
      // Heap by space, for probes that look for growth across rounds.
      const v8 = await import('node:v8');
      result = { mem: process.memoryUsage(), spaces: v8.getHeapSpaceStatistics() };
    } else if (cmd === 'gc') {
      result = await gcSinceLastCall();
    } else {
      const h = handlers[cmd];
      if (!h) throw new Error(`unknown command ${cmd}`);
      result = await h(args);
    }
    process.send({ id, result });
  } catch (err) {
    process.send({ id, error: err?.stack ?? String(err) });
  }
});

// Started on the first 'gc' command (which returns zeros), so no bench run pays for an observer it
// does not read. While the lean front kept a churning Map the observer could tip it into the bad
// GC mode; with the ring it does not (docs/bench.md, "Answered: the hub's two GC modes").
let gcCounter;
async function gcSinceLastCall() {
  gcCounter ??= (await import('./gc-count.mjs')).countGc();
  return gcCounter.take();
}
