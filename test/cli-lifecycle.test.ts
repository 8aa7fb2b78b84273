import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  killAll,
  register,
  runCli,
  spawnCli,
  startAgent,
  startHub,
  upgradeStatus,
} from '../packages/cli/test/spawn-cli.js';
import { startTestUpstream } from '../packages/cli/test/test-upstream.js';

const closers: (() => Promise<void>)[] = [];
// An agent logs "connected" before the hub has counted its worker slots; Slime-Block makes the
// request wait for the slot instead of racing it into a 503.
const BLOCK = { headers: { 'slime-block': '1' } };

afterEach(async () => {
  await killAll();
  for (const close of closers.splice(0)) await close();
});

async function upstream() {
  const u = await startTestUpstream();
  closers.push(u.close);
  return u;
}

describe('bad input: one line on stderr, exit 2, no stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slime-cli-bad-'));
  const badYaml = join(dir, 'bad.yaml');
  writeFileSync(badYaml, 'port: [1, 2\n');
  const badShaping = join(dir, 'shaping.yaml');
  writeFileSync(
    badShaping,
    'access:\n  - match: { ip: [nope] }\n    action: deny\nshaping:\n  groups:\n    - limiter: { mode: aimd, min: 0 }\n      jitter: { maxDelayMs: 0 }\n',
  );

  it.each([
    [
      'hub run without a secret',
      ['hub', 'run', '--port', '0'],
      {},
      /^slime: missing --secret \(or env SECRET\)$/,
    ],
    ['hub register without a name', ['hub', 'register', '--secret', 's'], {}, /^slime: missing --name/],
    [
      'agent run without a token',
      ['agent', 'run', '--hub', 'http://h', '--upstream', 'u:1'],
      {},
      /^slime: missing --token/,
    ],
    [
      'an unparseable hub URL',
      ['agent', 'run', '--token', 't', '--hub', 'ftp://x', '--upstream', 'u:1'],
      {},
      /invalid --hub "ftp:\/\/x"/,
    ],
    [
      'an unparseable upstream',
      ['agent', 'run'],
      { TOKEN: 't', HUB: 'http://h', UPSTREAM: 'http://[::1' },
      /invalid env UPSTREAM/,
    ],
    [
      'an unparseable duration',
      ['hub', 'register', '--secret', 's', '--name', 'n', '--age', '1y'],
      {},
      /invalid --age "1y"/,
    ],
    ['a bad env port', ['hub', 'run'], { SECRET: 's', PORT: 'http' }, /^slime: invalid env PORT "http"/],
    [
      'an unknown flag',
      ['hub', 'run', '--secret', 's', '--prot', '1'],
      {},
      /^slime: unknown option '--prot'/,
    ],
    ['an unknown command', ['hub', 'serve'], {}, /^slime: unknown command 'serve'/],
    [
      'a missing config file',
      ['--config', join(dir, 'nope.yaml'), 'hub', 'run'],
      {},
      /^slime: cannot read config file .*nope\.yaml: no such file$/,
    ],
    [
      'an unparseable config file',
      ['hub', 'run', '--config', badYaml],
      {},
      /^slime: config file .*bad\.yaml does not parse/,
    ],
    [
      'a bad log level',
      ['hub', 'run', '--secret', 's', '--log-level', 'loud'],
      {},
      /^slime: invalid --log-level "loud"/,
    ],
  ])('%s', async (_name, args, env, message) => {
    const r = await runCli(args, env as Record<string, string>);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a port in use exits 1 naming the port', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const { port } = server.address() as { port: number };
    const r = await runCli(['hub', 'run', '--secret', 's', '--host', '127.0.0.1', '--port', String(port)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`slime: port ${port} is already in use (host 127.0.0.1)\n`);
  });

  it('a bad policy file lists every problem, core rules and sections alike, one per line', async () => {
    const r = await runCli(['hub', 'run', '--secret', 's', '--port', '0', '--policy', badShaping]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^slime: invalid policy file .*shaping\.yaml:$/);
    expect(lines.slice(1).every((l) => l.startsWith('  - '))).toBe(true);
    expect(lines.some((l) => /^ {2}- shaping\.groups\[0\]\.limiter\.min must be >= 1/.test(l))).toBe(true);
    expect(lines.some((l) => /jitter needs a maxDelayMs > 0/.test(l))).toBe(true);
    expect(
      lines.some((l) => /^ {2}- access\[0\]\.match\.ip\[0\] must be an IP address or CIDR/.test(l)),
    ).toBe(true);
    // the prefix is said once, not repeated on every line
    expect(r.stderr.match(/invalid policy/g)).toHaveLength(1);
  });

  it('a config file supplies values, and flags and env vars win over it', async () => {
    const cfg = join(dir, 'hub.json');
    writeFileSync(cfg, JSON.stringify({ secret: 'from-file', appPassword: 'file-pw', port: 1 }));
    const hub = await startHub(['--config', cfg], { APP_PASSWORD: 'env-pw' });
    expect(hub.port).not.toBe(1); // --port 0 (flag) beat the file's port
    expect((await fetch(`${hub.url}/x`, { headers: { 'slime-app-password': 'file-pw' } })).status).toBe(401);
    // env beat the file: the right password gets past auth (503: no agent yet)
    expect((await fetch(`${hub.url}/x`, { headers: { 'slime-app-password': 'env-pw' } })).status).toBe(503);
    const token = await register(['--config', cfg, '--name', 'n']);
    expect(await upgradeStatus(hub.url, token)).not.toBe(401); // the file's secret signed it
  });
});

describe('signals', () => {
  it('SIGTERM to the hub lets an in-flight request finish, then exits 0', async () => {
    const up = await upstream();
    const token = await register(['--secret', 's', '--name', 'n']);
    const hub = await startHub(['--secret', 's']);
    await startAgent(['--token', token, '--hub', hub.url, '--upstream', up.hostPort]);
    const pending = fetch(`${hub.url}/hold`, BLOCK);
    await up.nextHeld();
    hub.proc.child.kill('SIGTERM');
    await hub.proc.waitForLog((l) => l.msg === 'hub draining');
    up.release('finished after SIGTERM');
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('finished after SIGTERM');
    expect(await hub.proc.exited).toBe(0);
  });

  it('SIGTERM to the agent finishes its in-flight request, then exits 0', async () => {
    const up = await upstream();
    const token = await register(['--secret', 's', '--name', 'n']);
    const hub = await startHub(['--secret', 's']);
    const agent = await startAgent(['--token', token, '--hub', hub.url, '--upstream', up.hostPort]);
    const pending = fetch(`${hub.url}/hold`, BLOCK);
    await up.nextHeld();
    agent.child.kill('SIGTERM');
    await agent.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('draining'));
    up.release('agent drained');
    const res = await pending;
    expect(await res.text()).toBe('agent drained');
    expect(await agent.exited).toBe(0);
  });

  it('a second signal exits at once without waiting for the request', async () => {
    const up = await upstream();
    const token = await register(['--secret', 's', '--name', 'n']);
    const hub = await startHub(['--secret', 's', '--drain-timeout', '10m']);
    await startAgent(['--token', token, '--hub', hub.url, '--upstream', up.hostPort]);
    const pending = fetch(`${hub.url}/hold`, BLOCK).then(
      (r) => r.text(),
      (err: unknown) => err,
    );
    await up.nextHeld();
    hub.proc.child.kill('SIGINT');
    await hub.proc.waitForLog((l) => l.msg === 'hub draining');
    hub.proc.child.kill('SIGINT');
    expect(await hub.proc.exited).toBe(130);
    expect(await pending).toBeInstanceOf(Error); // the held request was cut off, never answered
  });
});

describe('agent start-up failures', () => {
  it('a token signed with another secret: exit 1 with a clear message', async () => {
    const up = await upstream();
    const hub = await startHub(['--secret', 'right']);
    const token = await register(['--secret', 'wrong', '--name', 'n']);
    const agent = spawnCli(['agent', 'run', '--token', token, '--hub', hub.url, '--upstream', up.hostPort]);
    expect(await agent.exited).toBe(1);
    expect(agent.stderr()).toMatch(/^slime: hub refused the agent token \(HTTP 401\): check --token/);
    expect(agent.stderr().trimEnd().split('\n')).toHaveLength(1);
  });

  it('an expired token (--age 1s) is refused and the agent exits 1', async () => {
    const up = await upstream();
    const hub = await startHub(['--secret', 's']);
    const token = await register(['--secret', 's', '--name', 'brief', '--age', '1s']);
    // JWT expiry has one-second granularity: poll the hub until it refuses, never a bare sleep
    await vi.waitFor(
      async () => {
        expect(await upgradeStatus(hub.url, token)).toBe(401);
      },
      { timeout: 5000, interval: 100 },
    );
    await hub.proc.waitForLog((l) => l.msg === 'agent refused' && l.reason === 'expired');
    const agent = spawnCli(['agent', 'run', '--token', token, '--hub', hub.url, '--upstream', up.hostPort]);
    expect(await agent.exited).toBe(1);
    expect(agent.stderr()).toContain('hub refused the agent token');
  });

  it('an unreachable hub is retried with backoff and logged, not an exit', async () => {
    // a port that was free a moment ago: connection refused
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const agent = spawnCli([
      'agent',
      'run',
      '--token',
      't',
      '--hub',
      `http://127.0.0.1:${port}`,
      '--upstream',
      'u:1',
    ]);
    const first = await agent.waitForLog((l) => l.msg === 'cannot reach the hub');
    const second = await agent.waitForLog((l) => l.msg === 'cannot reach the hub', 2);
    expect(second.attempt).not.toBe(first.attempt);
    expect(agent.child.exitCode).toBeNull();
  });
});
