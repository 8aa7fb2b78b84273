import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';

/** Debian's gunicorn runs /usr/bin/python3, where python3-httpbin lives; override with GUNICORN. */
export const GUNICORN = process.env.GUNICORN ?? 'gunicorn';

const INSTALL_HINT =
  'install the Debian packages gunicorn and python3-httpbin (.ci/run does it), or set GUNICORN';

export interface TestHttpbin extends AsyncDisposable {
  readonly port: number;
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string;
  readonly child: ChildProcess;
  /** Stops gunicorn and its worker; resolves when the arbiter has exited. Idempotent. */
  stop(): Promise<void>;
}

/** gunicorn's stderr, the last few KB of it, for error messages; drained so the pipe never fills. */
function logTail(child: ChildProcess): { text: string } {
  const log = { text: '' };
  child.stderr?.on('data', (chunk: Buffer) => {
    log.text = (log.text + chunk.toString('utf8')).slice(-4000);
  });
  return log;
}

/** Resolves with the port gunicorn prints ("Listening at: http://127.0.0.1:PORT"), rejects if it dies first. */
function listeningPort(child: ChildProcess, log: { text: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, port?: number) => {
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (err) reject(err);
      else resolve(port!);
    };
    const onData = () => {
      const m = /Listening at: http:\/\/127\.0\.0\.1:(\d+)/.exec(log.text);
      if (m) done(null, Number(m[1]));
    };
    const onExit = (code: number | null, signal: string | null) =>
      done(new Error(`gunicorn exited (${code ?? signal}) before listening; ${INSTALL_HINT}:\n${log.text}`));
    const onError = (err: NodeJS.ErrnoException) =>
      done(
        new Error(
          err.code === 'ENOENT'
            ? `gunicorn not found (${GUNICORN}); ${INSTALL_HINT}`
            : `gunicorn: ${err.message}`,
          { cause: err },
        ),
      );
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/**
 * Waits for a first answer from httpbin: gunicorn prints "Listening" once the socket is bound, while
 * the worker that imports httpbin may still be booting, or fail to (httpbin missing). The request
 * waits in the backlog until the worker accepts it; when it fails instead, gunicorn is going down:
 * wait for it to exit (5 s at most) so the error carries its log, which names the cause.
 */
async function firstAnswer(child: ChildProcess, port: number, log: { text: string }): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/status/204', timeout: 20_000 }, (res) => {
        res.resume();
        if (res.statusCode === 204) resolve();
        else reject(new Error(`httpbin answered /status/204 with ${res.statusCode}`));
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 20 s')));
      req.on('error', reject);
      req.end();
    });
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) {
      await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    const state = child.exitCode ?? child.signalCode ?? 'still running';
    throw new Error(
      `httpbin did not answer (${(err as Error).message}; gunicorn: ${state}); ${INSTALL_HINT}:\n${log.text}`,
      { cause: err },
    );
  }
}

/**
 * httpbin (the Debian python3-httpbin package) under gunicorn on an ephemeral loopback port; it is
 * a third-party HTTP server to compare the hub against. Fails, never skips, when gunicorn or
 * httpbin is missing.
 *
 * @example
 * ```ts
 * await using httpbin = await startHttpbin();
 * const res = await request(`${httpbin.url}/get`);
 * ```
 */
export async function startHttpbin(options: { threads?: number } = {}): Promise<TestHttpbin> {
  const child = spawn(
    GUNICORN,
    ['-b', '127.0.0.1:0', '-k', 'gthread', '--threads', String(options.threads ?? 16), 'httpbin:app'],
    // Its own process group, so stop() reaches the worker as well as the arbiter.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  const log = logTail(child);
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  // A test worker that dies without its teardown must not leave gunicorn behind.
  const reap = () => killGroup('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // No pid: spawn itself failed (ENOENT) and there is no process to wait for.
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
        killGroup('SIGKILL'); // a worker may outlive an arbiter that already exited
        return;
      }
      const exited = once(child, 'exit');
      // SIGKILL: httpbin keeps no state, and a graceful stop would wait for open /drip streams.
      killGroup('SIGKILL');
      await exited;
    })();
    return stopping;
  };

  try {
    const port = await listeningPort(child, log);
    await firstAnswer(child, port, log);
    return {
      port,
      url: `http://127.0.0.1:${port}`,
      child,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
