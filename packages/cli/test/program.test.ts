import { createTokenVerifier } from '@slime/hub';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { agentOptionsFrom } from '../src/commands/agent-run.js';
import { hubOptionsFrom, listenError } from '../src/commands/hub-run.js';
import type { CliContext } from '../src/context.js';
import { AGENT_RUN_OPTIONS, HUB_RUN_OPTIONS } from '../src/option-specs.js';
import { main } from '../src/program.js';
import { Settings } from '../src/settings.js';

function capture(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const exits: number[] = [];
  const ctx: CliContext = {
    env,
    // a home without .slime.yaml, so the developer's own file never leaks into tests
    home: '/nonexistent-slime-home',
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    exit: (c) => exits.push(c),
  };
  return { ctx, out, err, exits, stdout: () => out.join(''), stderr: () => err.join('') };
}

describe('slime hub register (in process)', () => {
  it('prints only a token carrying name, scopes, scopePaths and expiry', async () => {
    const io = capture();
    const code = await main(
      [
        'hub',
        'register',
        '--secret',
        's3cret',
        '--name',
        'gpu-1',
        '--age',
        '1h2m3s',
        '--scopes',
        'a,b',
        '--scopePaths',
        '/x,/y',
      ],
      io.ctx,
    );
    expect(code).toBe(0);
    expect(io.stderr()).toBe('');
    expect(io.stdout()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const token = io.stdout().trim();
    const claims = await createTokenVerifier({ secret: 's3cret' }).verify(token);
    expect(claims).toMatchObject({ sub: 'gpu-1', scopes: ['a', 'b'], scopePaths: ['/x', '/y'] });
    expect(claims.exp! - claims.iat).toBe(3723);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reads Go env spellings; no --age means no expiry; each token has a fresh jti', async () => {
    const env = { SECRET: 's', NAME: 'n', SCOPEPATHS: '/only', SCOPES: 'x y' };
    const a = capture(env);
    const b = capture(env);
    expect(await main(['hub', 'register'], a.ctx)).toBe(0);
    expect(await main(['hub', 'register'], b.ctx)).toBe(0);
    const ca = decodeJwt(a.stdout().trim());
    const cb = decodeJwt(b.stdout().trim());
    expect(ca).toMatchObject({ sub: 'n', scopes: ['x', 'y'], scopePaths: ['/only'] });
    expect(ca.exp).toBeUndefined();
    expect(ca.jti).not.toBe(cb.jti);
  });

  it.each([
    [['hub', 'register', '--name', 'n'], 'slime: missing --secret (or env SECRET)\n'],
    [['hub', 'register', '--secret', 's'], 'slime: missing --name (or env NAME)\n'],
    [
      ['hub', 'register', '--secret', 's', '--name', 'n', '--age', 'soon'],
      /^slime: invalid --age "soon": expected a duration/,
    ],
    [['hub', 'register', '--secret', 's', '--name', 'n', '--age', '500ms'], /at least 1s/],
    [['hub', 'register', '--secret', 's', '--name', 'n', '--scopePaths', 'x'], /paths start with \//],
    [['hub', 'register', '--secret', 's', '--name', 'n', '--bogus'], "slime: unknown option '--bogus'\n"],
    [['hub', 'register', '--secret', 's', '--name', 'n', 'extra'], /^slime: too many arguments/],
    [
      ['hub', 'register', '--config', '/nonexistent/slime.yaml'],
      /^slime: cannot read config file \/nonexistent\/slime\.yaml/,
    ],
  ])('%j -> exit 2 and one line', async (args, message) => {
    const io = capture();
    expect(await main(args as string[], io.ctx)).toBe(2);
    expect(io.stdout()).toBe('');
    expect(io.err).toHaveLength(1);
    expect(io.stderr().trimEnd().split('\n')).toHaveLength(1);
    if (typeof message === 'string') expect(io.stderr()).toBe(message);
    else expect(io.stderr()).toMatch(message);
  });

  it('--help and --version exit 0 on every command, help with examples', async () => {
    for (const args of [
      ['--help'],
      ['hub', 'run', '--help'],
      ['hub', 'register', '--help'],
      ['agent', 'run', '--help'],
      ['demo', '--help'],
    ]) {
      const io = capture();
      expect(await main(args, io.ctx), args.join(' ')).toBe(0);
      expect(io.stdout()).toContain('Examples:');
    }
    for (const args of [['--version'], ['hub', 'run', '--version'], ['agent', 'run', '-v']]) {
      const io = capture();
      expect(await main(args, io.ctx)).toBe(0);
      expect(io.stdout()).toMatch(/^\d+\.\d+\.\d+\n$/);
    }
  });
});

describe('hub run options', () => {
  it('maps flags, env and durations to hub options', () => {
    const s = new Settings(HUB_RUN_OPTIONS, {
      flags: { appPassword: 'pw', blockTimeout: '2m' },
      env: {
        SECRET: 's',
        PORT: '0',
        CONCURRENT: '4',
        MAX_QUEUE: '10',
        HEARTBEAT_TIMEOUT: '9s',
        TRUSTED_PROXIES: '10.0.0.0/8 127.0.0.1',
      },
    });
    expect(hubOptionsFrom(s)).toEqual({
      secret: 's',
      host: '0.0.0.0',
      port: 0,
      appPassword: 'pw',
      concurrent: 4,
      maxQueue: 10,
      blockTimeoutMs: 120_000,
      heartbeatTimeoutMs: 9000,
      heartbeatIntervalMs: 3000,
      trustedProxies: ['10.0.0.0/8', '127.0.0.1'],
    });
  });

  it('Go defaults: port 8080, host 0.0.0.0, --concurrent 0 = unlimited', () => {
    const s = new Settings(HUB_RUN_OPTIONS, { flags: { secret: 's', concurrent: '0' }, env: {} });
    expect(hubOptionsFrom(s)).toEqual({ secret: 's', host: '0.0.0.0', port: 8080 });
  });

  it('a port in use exits 1 naming the port; an unknown host is a usage error', () => {
    const inUse = listenError(Object.assign(new Error('x'), { code: 'EADDRINUSE' }), '0.0.0.0', 8080);
    expect(inUse.exitCode).toBe(1);
    expect(inUse.message).toBe('port 8080 is already in use (host 0.0.0.0)');
    expect(listenError(Object.assign(new Error('x'), { code: 'ENOTFOUND' }), 'nohost', 1).exitCode).toBe(2);
  });
});

describe('agent run options', () => {
  it('one agent per upstream; UPSTREAM with commas and spaces; ids suffixed', () => {
    const s = new Settings(AGENT_RUN_OPTIONS, {
      flags: { agentId: 'gpu' },
      env: {
        TOKEN: 't',
        HUB: 'ws://hub:8080',
        UPSTREAM: 'a:1, b:2 http://c:3/api',
        NUMWORKER: '2',
        REPORTHARDWARE: 'false',
      },
    });
    const all = agentOptionsFrom(s);
    expect(all.map((o) => [o.upstream, o.agentId, o.numWorker, o.reportHardware, o.hub])).toEqual([
      ['a:1', 'gpu-1', 2, false, 'ws://hub:8080'],
      ['b:2', 'gpu-2', 2, false, 'ws://hub:8080'],
      ['http://c:3/api', 'gpu-3', 2, false, 'ws://hub:8080'],
    ]);
  });

  it('several hubs: one agent per upstream, each connected to every hub (shared slots)', () => {
    const s = new Settings(AGENT_RUN_OPTIONS, {
      flags: {},
      env: { TOKEN: 't', HUB: 'http://h1:1, http://h2:2', UPSTREAM: 'a:1,b:2', NUM_WORKER: '3' },
    });
    expect(agentOptionsFrom(s).map((o) => [o.upstream, o.hub, o.numWorker])).toEqual([
      ['a:1', ['http://h1:1', 'http://h2:2'], 3],
      ['b:2', ['http://h1:1', 'http://h2:2'], 3],
    ]);
  });

  it.each([
    [{ token: 't', hub: 'http://h:1,ws://h:1', upstream: 'u:1' }, 'invalid --hub: hub lists ws://h:1 twice'],
    [{ hub: 'h:1', upstream: 'u:1' }, 'missing --token (or env TOKEN)'],
    [{ token: 't', upstream: 'u:1' }, 'missing --hub (or env HUB)'],
    [{ token: 't', hub: 'http://h:1' }, 'missing --upstream (or env UPSTREAM)'],
    [
      { token: 't', hub: 'ftp://h', upstream: 'u:1' },
      'invalid --hub "ftp://h": expected an http://, https://, ws:// or wss:// URL',
    ],
    [
      { token: 't', hub: 'http://h', upstream: 'http://[bad' },
      'invalid --upstream "http://[bad": expected host:port or an http(s):// URL',
    ],
    [{ token: 't', hub: 'http://h', upstream: 'u:1', numWorker: '0' }, 'invalid --num-worker "0"'],
  ])('%j is refused: %s', (flags, message) => {
    expect(() => agentOptionsFrom(new Settings(AGENT_RUN_OPTIONS, { flags, env: {} }))).toThrow(message);
  });
});
