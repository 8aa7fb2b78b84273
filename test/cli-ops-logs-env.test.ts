import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BIN,
  killAll,
  register,
  runCli,
  spawnCli,
  startAgent,
  startHub,
  upgradeStatus,
} from '../packages/cli/test/spawn-cli.js';
import { startTestUpstream } from '../packages/cli/test/test-upstream.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await killAll();
  for (const close of closers.splice(0)) await close();
});

const PRETTY = /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] INFO: hub listening \{.*"port":(\d+)/;

describe('logs for humans and machines', () => {
  it('--log-format pretty: one readable line per event, with an ISO time', async () => {
    const hub = spawnCli([
      'hub',
      'run',
      '--secret',
      's',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--log-format',
      'pretty',
    ]);
    const line = await hub.waitForLine(PRETTY);
    const port = Number(PRETTY.exec(line)?.[1]);
    // an agent with a bad token: the refusal is one WARN line, no JSON
    await upgradeStatus(`http://127.0.0.1:${port}`, 'x');
    const refused = await hub.waitForLine(/ WARN: agent refused /);
    expect(refused).toMatch(/^\[[^\]]+Z\] WARN: agent refused \{"reason":"malformed"/);
    expect(hub.stdout()).not.toMatch(/^\{/m);
  });

  it('a terminal gets pretty lines by default; a pipe gets JSON', async () => {
    const hasScript = spawnSync('script', ['--version']).status === 0;
    if (!hasScript) return; // util-linux `script` gives the CLI a pseudo-terminal
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} hub run --secret s --host 127.0.0.1 --port 0`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // Ctrl-C through the terminal: killing `script` alone would leave the CLI behind (it takes
    // the terminal's SIGHUP as a reload request, like any server)
    closers.push(async () => {
      const exited = once(child, 'exit');
      child.stdin.write('\x03');
      await exited;
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    await vi.waitFor(() => expect(out).toMatch(/INFO: hub listening/), { timeout: 5000, interval: 50 });
    expect(out.split(/\r?\n/).find((l) => l.includes('hub listening'))).toMatch(PRETTY);
    // the same command on a pipe: JSON (what every other test reads)
    const piped = await startHub(['--secret', 's']);
    expect(piped.port).toBeGreaterThan(0);
  });

  it('a bad --log-format is one line and exit 2, naming its source', async () => {
    const r = await runCli(['hub', 'run', '--secret', 's', '--port', '0'], { SLIME_LOG_FORMAT: 'xml' });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('slime: invalid env SLIME_LOG_FORMAT "xml": expected json or pretty\n');
  });
});

describe('SLIME_* env vars', () => {
  it('every setting reads SLIME_<FLAG>, which wins over the Go name (and the clash is pointed out)', async () => {
    const up = await startTestUpstream();
    closers.push(up.close);
    const hub = await startHub([], { SLIME_SECRET: 'right', SECRET: 'wrong', SLIME_APP_PASSWORD: 'pw' });
    await vi.waitFor(() =>
      expect(hub.proc.stderr()).toContain(
        'slime: warning: env SECRET is ignored for --secret: env SLIME_SECRET is also set and wins\n',
      ),
    );
    const token = await register(['--secret', 'right', '--name', 'n']);
    await startAgent([], {
      SLIME_TOKEN: token,
      SLIME_HUB: hub.url,
      SLIME_UPSTREAM: up.hostPort,
      SLIME_AGENT_ID: 'a1',
    });
    const res = await fetch(`${hub.url}/x`, { headers: { 'slime-app-password': 'pw', 'slime-block': '1' } });
    expect(res.status).toBe(200);
    await res.text();
  });

  it('a value taken from a generic name (PORT, TOKEN, NAME, ...) is pointed out; SLIME_ names are quiet', async () => {
    const minted = await runCli(['hub', 'register'], { SECRET: 's', NAME: 'gpu-1', AGE: '1h' });
    expect(minted.code).toBe(0);
    expect(minted.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/); // stdout stays the token alone
    expect(minted.stderr).toContain(
      'slime: warning: --name was taken from env NAME, a generic name another program may have set; pass --name or set SLIME_NAME to make it explicit\n',
    );
    expect(minted.stderr).toContain('--age was taken from env AGE');
    expect(minted.stderr).not.toContain('SECRET');

    const quiet = await runCli(['hub', 'register'], { SLIME_SECRET: 's', SLIME_NAME: 'gpu-1' });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');

    const hub = spawnCli(['hub', 'run', '--secret', 's', '--host', '127.0.0.1'], { PORT: '0' });
    await hub.waitForLog((l) => l.msg === 'hub listening');
    await vi.waitFor(() => expect(hub.stderr()).toContain('--port was taken from env PORT'));
  });
});
