import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

export interface TestRedis extends AsyncDisposable {
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  /** Stops the server (SIGKILL: nothing to save); resolves when the process has exited. */
  stop(): Promise<void>;
  /** Starts a fresh, empty server on the same port (after stop()). */
  restart(): Promise<void>;
}

/** Redis needs a concrete port: bind port 0 on loopback, read the port back, release it. */
async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function launch(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    REDIS_SERVER,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--protected-mode',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // A test worker that dies without its teardown must not leave a redis-server behind.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.off('exit', onExit);
        resolve(child);
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`redis-server exited (${code}) before it was ready:\n${out.slice(-2000)}`));
    child.stdout?.on('data', onData);
    child.stderr?.resume();
    child.once('exit', onExit);
    child.once('error', reject);
  });
}

/**
 * A private redis-server on an ephemeral loopback port, no persistence; stopped on dispose.
 *
 * @example
 * ```ts
 * await using redis = await startRedis();
 * const client = new Redis(redis.url);
 * ```
 */
export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'slime-redis-'));
  let port = await freePort();
  let child: ChildProcess;
  // Another process may take the port between close() and redis binding it: try a few.
  for (let attempt = 0; ; attempt++) {
    try {
      child = await launch(port, dir);
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
      port = await freePort();
    }
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };
  const r: TestRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get child() {
      return child;
    },
    stop,
    async restart() {
      await stop();
      child = await launch(port, dir);
    },
    async [Symbol.asyncDispose]() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return r;
}
