// Child processes for the bench: every server (upstream, hub, agent, proxy) and the load generator
// runs in its own process, so the load generator never shares the hub's event loop and the CPU
// time of each process can be read from /proc. Every child is tracked so that a scenario's
// `finally`, a timeout or Ctrl-C can kill them all.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./child.mjs', import.meta.url));
const live = new Set();

function profileFlags(role) {
  // BENCH_LEAN_FLAGS: Node/V8 flags for the lean pair (bench/probes/gc-mode-odds.mjs)
  if (role === 'lean-front' || role === 'lean-back')
    return process.env.BENCH_LEAN_FLAGS?.split(' ').filter(Boolean) ?? [];
  if (role !== 'hub' && role !== 'agent') return [];
  const dir = process.env.BENCH_CPU_PROF;
  // BENCH_NODE_FLAGS: more Node/V8 flags for the hub and agent processes (--trace-gc, ...)
  const extra = process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  return [...(dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []), ...extra];
}

/**
 * Starts `bench/lib/role-<role>.mjs` in a child process and waits until it reports ready.
 * Returns { pid, info, call(cmd, args), kill() }.
 */
export async function spawnRole(role, args = {}, { timeoutMs = 15_000 } = {}) {
  const proc = fork(CHILD, [role], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Roomy heap for the 10,000-agent child. BENCH_CPU_PROF=DIR writes a .cpuprofile per hub and
    // agent process into DIR (open in Chrome DevTools), to find where their time goes.
    execArgv: ['--max-old-space-size=2048', ...profileFlags(role)],
    serialization: 'advanced',
  });
  live.add(proc);
  const pending = new Map();
  let nextId = 0;
  let exited = false;
  proc.on('message', (msg) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${role}: ${msg.error}`));
    else p.resolve(msg.result);
  });
  proc.on('exit', (code, signal) => {
    exited = true;
    live.delete(proc);
    for (const p of pending.values()) p.reject(new Error(`${role} exited (${code ?? signal})`));
    pending.clear();
  });

  function call(cmd, cmdArgs = {}, callTimeoutMs = 600_000) {
    if (exited) return Promise.reject(new Error(`${role} has exited`));
    const id = ++nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${role}.${cmd} timed out after ${callTimeoutMs} ms`));
      }, callTimeoutMs);
      pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      proc.send({ id, cmd, args: cmdArgs });
    });
  }

  const child = {
    role,
    pid: proc.pid,
    info: undefined,
    call,
    get exited() {
      return exited;
    },
    /** SIGKILL: used both for cleanup and by the failover scenario to kill an agent outright. */
    kill(signal = 'SIGKILL') {
      if (exited) return Promise.resolve();
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      return gone;
    },
    /** Asks the child to exit (so --cpu-prof can write its profile), SIGKILL after 2 s. */
    async killAndWait() {
      if (exited) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.disconnect();
      const timer = setTimeout(() => proc.kill('SIGKILL'), 2000);
      await gone;
      clearTimeout(timer);
    },
  };
  child.info = await call('start', args, timeoutMs);
  return child;
}

/** Tracks a process started elsewhere (nginx) so that Ctrl-C kills it too. */
export function track(proc) {
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
}

/** Kills every child still running (SIGINT handler and last-resort cleanup). */
export function killAllChildren() {
  for (const proc of live) proc.kill('SIGKILL');
}

/**
 * A scope for one scenario: children spawned through it are killed when it closes, even when the
 * scenario threw or timed out.
 */
export function childScope() {
  const mine = [];
  const deferred = [];
  return {
    /** Runs `fn` when the scope closes (for things that are not role children, like nginx). */
    defer(fn) {
      deferred.push(fn);
    },
    async spawn(role, args, opts) {
      const c = await spawnRole(role, args, opts);
      mine.push(c);
      return c;
    },
    async close() {
      await Promise.all([...mine.map((c) => c.killAndWait()), ...deferred.map((fn) => fn().catch(() => {}))]);
    },
  };
}
