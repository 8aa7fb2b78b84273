#!/usr/bin/env node
// The Docker HEALTHCHECK of the slime image. One image runs hubs, agents and the demo, so the
// check first reads what the container's main process (PID 1, or the pid given as the first
// argument) runs, from its /proc command line and environment:
//   hub run, demo   GET http://127.0.0.1:<port>/_slime/health on the client port (always on;
//                   503 while the hub drains, so a stopping hub is unhealthy, not dead)
//   agent run       GET /metrics when --metrics-port is set; otherwise the running process is
//                   the health (an agent exits 1 when a hub refuses it for good)
//   anything else   healthy (`hub register`, `--help`)
// Exit 0 = healthy, 1 = unhealthy, as Docker expects. Node only, no curl in the image.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';

const pid = process.argv[2] ?? '1';

function proc(file) {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

const argv = proc('cmdline');
const env = Object.fromEntries(
  proc('environ').map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i), kv.slice(i + 1)];
  }),
);
// the arguments after the CLI's script (`node /app/packages/cli/dist/bin.js hub run ...`)
const script = argv.findIndex((a, i) => i > 0 && /(?:bin\.js|slime\.js|\/slime)$/.test(a));
const args = script === -1 ? [] : argv.slice(script + 1);

// Flags in any spelling the CLI takes (`--metrics-port`, `--metricsPort`, `--metrics_port=9`);
// the last one wins, as on the command line.
const fold = (name) => name.replace(/^-+/, '').replace(/[-_]/g, '').toLowerCase();
function flag(name) {
  let value;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (fold(eq === -1 ? a : a.slice(0, eq)) !== fold(name)) continue;
    value = eq === -1 ? args[i + 1] : a.slice(eq + 1);
  }
  return value;
}
const setting = (name, envNames) => {
  const f = flag(name);
  if (f !== undefined) return f;
  for (const e of envNames) if (env[e]) return env[e];
  return undefined;
};

const positional = [];
for (let i = 0; i < args.length && positional.length < 2; i++) {
  if (args[i] === '--config') i++;
  else if (!args[i].startsWith('-')) positional.push(args[i]);
}
const command = positional.join(' ');

function get(host, port, path) {
  const dial = !host || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const req = request({ host: dial, port: Number(port), path, timeout: 3000 }, (res) => {
    res.resume();
    process.exit(res.statusCode === 200 ? 0 : 1);
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => process.exit(1));
  req.end();
}

if (command === 'hub run' || command.startsWith('demo')) {
  const port = setting('port', ['SLIME_PORT', 'PORT']) ?? '8080';
  get(setting('host', ['SLIME_HOST', 'HOST']), port, '/_slime/health');
} else if (command === 'agent run' && setting('metrics-port', ['SLIME_METRICS_PORT', 'METRICS_PORT'])) {
  const port = setting('metrics-port', ['SLIME_METRICS_PORT', 'METRICS_PORT']);
  get(setting('metrics-host', ['SLIME_METRICS_HOST', 'METRICS_HOST']), port, '/metrics');
} else {
  process.exit(0);
}
