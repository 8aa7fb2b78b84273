// Optional native tools: wrk (a load generator much lighter than autocannon) and nginx (the
// one-hop proxy operators know). Used when installed, never installed by the bench.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { track } from './children.mjs';

const run = promisify(execFile);

/** Finds a binary on PATH or in the sbin directories (nginx lives in /usr/sbin). */
export function which(name) {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const d of dirs) {
    if (d && existsSync(join(d, name))) return join(d, name);
  }
  return null;
}

export function detectTools() {
  return { wrk: which('wrk'), nginx: which('nginx') };
}

/** wrk -t1 for `seconds`; parses req/s and the p50/p99 latency (ms) of its --latency output. */
export async function runWrk(wrk, { url, connections, seconds, headers = {} }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  const { stdout } = await run(wrk, [...args, url], { timeout: (seconds + 30) * 1000 });
  const toMs = (s) => {
    const m = /([\d.]+)(us|ms|s)/.exec(s);
    if (!m) return Number.NaN;
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]];
  };
  const total = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
  const errLine = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const errors = non2xx + (errLine ? errLine.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return {
    requests: total - non2xx,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0) * ((total - non2xx) / (total || 1)),
    p50: toMs(/50%\s+(\S+)/.exec(stdout)?.[1] ?? ''),
    p99: toMs(/99%\s+(\S+)/.exec(stdout)?.[1] ?? ''),
    errors,
  };
}

/** A free loopback port (nginx cannot listen on port 0 and report it). */
async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * nginx as a one-hop reverse proxy with upstream keep-alive, one worker, in the foreground and
 * without a master process so that its one pid carries all its CPU time.
 */
export async function startNginx(nginx, upstreamPort) {
  const dir = await mkdtemp(join(tmpdir(), 'slime-bench-nginx-'));
  const port = await freePort();
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream up { server 127.0.0.1:${upstreamPort}; keepalive 256; }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`;
  await writeFile(join(dir, 'nginx.conf'), conf);
  const proc = spawn(nginx, ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  track(proc);
  const exited = new Promise((r) => proc.once('exit', r));
  // Wait until it accepts connections (or died, e.g. port taken in the meantime).
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(url).then(
      (r) => r.arrayBuffer().then(() => true),
      () => false,
    );
    if (ok) break;
    if (proc.exitCode !== null) throw new Error('nginx exited at start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    pid: proc.pid,
    async close() {
      proc.kill('SIGKILL');
      if (proc.exitCode === null && proc.signalCode === null) await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
