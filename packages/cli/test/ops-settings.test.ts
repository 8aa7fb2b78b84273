import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fatalLine } from '../src/commands/agent-run.js';
import type { CliContext } from '../src/context.js';
import { loggerFor } from '../src/logger.js';
import {
  AGENT_RUN_OPTIONS,
  ALL_OPTIONS,
  HUB_REGISTER_OPTIONS,
  HUB_REVOKE_OPTIONS,
  HUB_RUN_OPTIONS,
} from '../src/option-specs.js';
import { envNames, Settings, slimeEnvName } from '../src/settings.js';

const settings = (specs = HUB_RUN_OPTIONS, env: Record<string, string> = {}, flags = {}) =>
  new Settings(specs, { flags, env });

describe('SLIME_* env names', () => {
  it('every setting has one, derived from its flag, read before the Go names', () => {
    const byFlag = new Map(ALL_OPTIONS.map((s) => [s.flag, s]));
    expect(slimeEnvName(byFlag.get('app-password')!)).toBe('SLIME_APP_PASSWORD');
    expect(slimeEnvName(byFlag.get('redis')!)).toBe('SLIME_REDIS_URL');
    expect(envNames(byFlag.get('num-worker')!)).toEqual(['SLIME_NUM_WORKER', 'NUM_WORKER', 'NUMWORKER']);
    // per-invocation flags read no env var
    expect(
      HUB_REVOKE_OPTIONS.filter((s) => ['jti', 'agent', 'list'].includes(s.flag)).flatMap(envNames),
    ).toEqual([]);
    const all = ALL_OPTIONS.flatMap(envNames).filter((n) => n.startsWith('SLIME_'));
    for (const n of all) expect(n).toMatch(/^SLIME_[A-Z0-9_]+$/);
  });

  it('SLIME_ wins over the Go name and says where the value came from', () => {
    const s = settings(HUB_RUN_OPTIONS, { SLIME_PORT: '9', PORT: '8' });
    expect(s.int('port', { min: 0 })).toBe(9);
    expect(s.find('port')?.source).toBe('env SLIME_PORT');
    expect(() => settings(HUB_RUN_OPTIONS, { SLIME_PORT: 'x' }).int('port', { min: 0 })).toThrow(
      'invalid env SLIME_PORT "x"',
    );
    // a flag still beats both
    expect(settings(HUB_RUN_OPTIONS, { SLIME_PORT: '9' }, { port: '7' }).int('port', { min: 0 })).toBe(7);
  });
});

describe('Settings.warnings', () => {
  it('points out values from generic names, never showing them', () => {
    const w = settings(HUB_REGISTER_OPTIONS, { NAME: 'gpu-1', AGE: '1h', SECRET: 'hush' }).warnings();
    expect(w).toEqual([
      '--name was taken from env NAME, a generic name another program may have set; pass --name or set SLIME_NAME to make it explicit',
      '--age was taken from env AGE, a generic name another program may have set; pass --age or set SLIME_AGE to make it explicit',
    ]);
    expect(w.join()).not.toContain('gpu-1');
    const agent = settings(AGENT_RUN_OPTIONS, { TOKEN: 'secret-token' }).warnings();
    expect(agent).toHaveLength(1);
    expect(agent[0]).not.toContain('secret-token');
  });

  it('points out an env var shadowed by another of the same setting with another value', () => {
    expect(settings(HUB_RUN_OPTIONS, { SLIME_SECRET: 'a', SECRET: 'b' }).warnings()).toEqual([
      'env SECRET is ignored for --secret: env SLIME_SECRET is also set and wins',
    ]);
    // the same value twice, a flag, or a SLIME_ name alone: nothing to say
    expect(settings(HUB_RUN_OPTIONS, { SLIME_SECRET: 'a', SECRET: 'a' }).warnings()).toEqual([]);
    expect(settings(HUB_RUN_OPTIONS, { PORT: '1' }, { port: '2' }).warnings()).toEqual([]);
    expect(settings(HUB_RUN_OPTIONS, { SLIME_PORT: '1', SLIME_HOST: 'h' }).warnings()).toEqual([]);
  });
});

describe('loggerFor', () => {
  const ctx = (tty: boolean, lines: string[], env: Record<string, string> = {}): CliContext => ({
    env,
    home: '/nonexistent',
    stdout: (t) => lines.push(t),
    stderr: () => {},
    exit: () => {},
    stdoutIsTTY: tty,
  });

  it('pretty lines with an ISO time at a terminal, JSON elsewhere; --log-format wins', () => {
    const tty: string[] = [];
    loggerFor(settings(), ctx(true, tty, { NO_COLOR: '1' })).info({ port: 1 }, 'hub listening');
    expect(tty[0]).toMatch(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] INFO: hub listening \{"port":1\}\n$/);
    const pipe: string[] = [];
    loggerFor(settings(), ctx(false, pipe)).info({ port: 1 }, 'hub listening');
    expect(JSON.parse(pipe[0]!)).toMatchObject({ msg: 'hub listening', port: 1, level: 30 });
    const forced: string[] = [];
    loggerFor(settings(HUB_RUN_OPTIONS, {}, { logFormat: 'json' }), ctx(true, forced)).info('x');
    expect(JSON.parse(forced[0]!)).toMatchObject({ msg: 'x' });
  });

  it('redacts tokens in pretty lines too', () => {
    const lines: string[] = [];
    loggerFor(settings(), ctx(true, lines, { NO_COLOR: '1' })).info({ token: 'abc.def.ghi' }, 'x');
    expect(lines[0]).toContain('[redacted]');
    expect(lines[0]).not.toContain('abc.def.ghi');
  });

  it('redacts the admin token, passwords and proxy credentials in JSON lines', () => {
    const lines: string[] = [];
    const log = loggerFor(settings(), ctx(false, lines));
    log.info({ adminToken: 'adm-1', options: { password: 'pw-2' } }, 'x');
    log.info({ req: { headers: { 'proxy-authorization': 'Basic cHc=', 'set-cookie': 's=3' } } }, 'y');
    const text = lines.join('');
    for (const secret of ['adm-1', 'pw-2', 'cHc=', 's=3']) expect(text).not.toContain(secret);
    expect(text.match(/\[redacted\]/g)).toHaveLength(4);
  });
});

describe('fatalLine', () => {
  it('says why the hub refused the token, from its reason', () => {
    const err = Object.assign(new Error('hub refused the agent token (HTTP 401, reason revoked)'), {
      code: 'ERR_AGENT_UNAUTHORIZED',
      status: 401,
      reason: 'revoked',
    });
    expect(fatalLine(err)).toBe(
      'slime: hub refused the agent token (HTTP 401): check --token: the token, or every token of its agent name, is revoked (`slime hub revoke --list`) (reason revoked)',
    );
    const old = Object.assign(new Error('x'), { code: 'ERR_AGENT_UNAUTHORIZED', status: 401 });
    expect(fatalLine(old)).toBe(
      'slime: hub refused the agent token (HTTP 401): check --token (expired, revoked, or minted with another secret)',
    );
  });
});

describe('docs', () => {
  it('docs/cli.md describes SLIME_ names, the state dir and the new commands', () => {
    const doc = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');
    for (const text of [
      '`SLIME_SECRET`',
      '`SLIME_STATE_DIR`',
      '### `slime hub unrevoke`',
      '`--list [bool]`',
      'SIGHUP',
      'EPIPE',
    ]) {
      expect(doc).toContain(text);
    }
  });
});
