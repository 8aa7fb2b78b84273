import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built binary: end-to-end tests run exactly what users run (build first: `npx tsc -b`). */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

export type LogLine = Record<string, unknown> & { msg?: string };

export interface CliProcess {
  readonly child: ChildProcess;
  /** stdout split into lines so far. */
  readonly stdoutLines: string[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the `count`-th JSON log line on stdout matching `match`, waiting for it if needed. */
  waitForLog(match: (line: LogLine) => boolean, count?: number): Promise<LogLine>;
  /** Resolves with the first stdout line matching `re`. */
  waitForLine(re: RegExp): Promise<string>;
  /** Exit code (or 128 + signal number when killed by a signal). */
  readonly exited: Promise<number>;
}

const running = new Set<ChildProcess>();
// Each process gets a fresh HOME so a developer's ~/.slime.yaml never changes a test.
const home = mkdtempSync(join(tmpdir(), 'slime-e2e-home-'));

function parse(line: string): LogLine | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null ? (v as LogLine) : undefined;
  } catch {
    return undefined;
  }
}

/** Spawns `node [nodeArgs] dist/bin.js ...args` with only PATH, HOME and `env` in its environment. */
export function spawnCli(
  args: readonly string[],
  env: Record<string, string> = {},
  options: { cwd?: string; nodeArgs?: readonly string[] } = {},
): CliProcess {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npx tsc -b\` before the end-to-end tests`);
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  running.add(child);
  const stdoutLines: string[] = [];
  let out = '';
  let err = '';
  let partial = '';
  const waiters = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    stdoutLines.push(...parts);
    for (const w of waiters) w();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = once(child, 'exit').then(([code, signal]) => {
    running.delete(child);
    for (const w of waiters) w();
    if (typeof code === 'number') return code;
    return 128 + ({ SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal as string] ?? 0);
  });
  let dead = false;
  void exited.then(() => {
    dead = true;
  });

  function waitFor<T>(find: () => T | undefined, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found !== undefined) {
          waiters.delete(check);
          resolve(found);
        } else if (dead) {
          waiters.delete(check);
          reject(new Error(`process exited before ${what}; stdout:\n${out}\nstderr:\n${err}`));
        }
      };
      waiters.add(check);
      check();
    });
  }

  return {
    child,
    stdoutLines,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForLog: (match, count = 1) =>
      waitFor(() => {
        let seen = 0;
        for (const line of stdoutLines) {
          const log = parse(line);
          if (log !== undefined && match(log) && ++seen === count) return log;
        }
        return undefined;
      }, `log line #${count}`),
    waitForLine: (re) => waitFor(() => stdoutLines.find((l) => re.test(l)), `a line matching ${re}`),
  };
}

/** Kills every CLI process a test left running (call in afterEach). */
export async function killAll(): Promise<void> {
  const children = [...running];
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode === null && child.signalCode === null) {
        const exit = once(child, 'exit');
        child.kill('SIGKILL');
        await exit;
      }
    }),
  );
  running.clear();
}

/** Starts `slime hub run` on 127.0.0.1 and a free port; resolves once it logged its URL. */
export async function startHub(args: readonly string[] = [], env: Record<string, string> = {}) {
  const proc = spawnCli(['hub', 'run', '--host', '127.0.0.1', '--port', '0', ...args], env);
  const line = await proc.waitForLog((l) => l.msg === 'hub listening');
  return { proc, url: String(line.url), port: Number(line.port) };
}

/** Runs a command to completion, e.g. `hub register`. */
export async function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  options: { cwd?: string } = {},
) {
  const proc = spawnCli(args, env, options);
  const code = await proc.exited;
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** Mints a token with the real CLI. */
export async function register(args: readonly string[]): Promise<string> {
  const r = await runCli(['hub', 'register', ...args]);
  if (r.code !== 0) throw new Error(`register failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

/** Starts `slime agent run` and waits until it is connected to the hub. */
export async function startAgent(args: readonly string[], env: Record<string, string> = {}, connections = 1) {
  const proc = spawnCli(['agent', 'run', ...args], env);
  await proc.waitForLog((l) => l.msg === 'connected to hub', connections);
  return proc;
}

/**
 * What the hub answers an agent upgrade carrying `token`: 401 when it refuses the token,
 * anything else (101, or 400 for this bare upgrade) when it accepts it.
 */
export function upgradeStatus(hubUrl: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${hubUrl}/_slime/agent`, {
      headers: { connection: 'Upgrade', upgrade: 'websocket', authorization: `Bearer ${token}` },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
