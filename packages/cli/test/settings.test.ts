import { describe, expect, it } from 'vitest';
import {
  AGENT_RUN_OPTIONS,
  ALL_OPTIONS,
  HUB_REGISTER_OPTIONS,
  HUB_RUN_OPTIONS,
} from '../src/option-specs.js';
import { camelKey, foldName, normalizeArgv, Settings } from '../src/settings.js';
import { UsageError } from '../src/usage-error.js';

describe('normalizeArgv', () => {
  it('rewrites Go spellings and other casings to the kebab flag', () => {
    expect(
      normalizeArgv(
        [
          '--appPassword',
          'p',
          '--numWorker=2',
          '--agentID',
          'x',
          '--scopePaths=/a',
          '--reportHardware=false',
        ],
        ALL_OPTIONS,
      ),
    ).toEqual([
      '--app-password',
      'p',
      '--num-worker=2',
      '--agent-id',
      'x',
      '--scope-paths=/a',
      '--report-hardware=false',
    ]);
    expect(normalizeArgv(['--APP_PASSWORD=p', '--agent-id', 'y'], ALL_OPTIONS)).toEqual([
      '--app-password=p',
      '--agent-id',
      'y',
    ]);
  });

  it('leaves unknown flags, values and everything after -- alone', () => {
    expect(
      normalizeArgv(['--nope', '--appPassword', '--numWorker', '--', '--appPassword'], ALL_OPTIONS),
    ).toEqual(['--nope', '--app-password', '--num-worker', '--', '--appPassword']);
    expect(normalizeArgv(['-h', 'hub', 'run'], ALL_OPTIONS)).toEqual(['-h', 'hub', 'run']);
  });
});

describe('names', () => {
  it('folds every spelling to one form', () => {
    for (const name of ['appPassword', 'app-password', 'APP_PASSWORD', '--appPassword', 'APPPASSWORD']) {
      expect(foldName(name)).toBe('apppassword');
    }
  });

  it('matches commander attribute names', () => {
    expect(camelKey('app-password')).toBe('appPassword');
    expect(camelKey('agent-id')).toBe('agentId');
    expect(camelKey('secret')).toBe('secret');
  });

  it('every Go env spelling is declared', () => {
    const env = new Set(
      [...HUB_RUN_OPTIONS, ...HUB_REGISTER_OPTIONS, ...AGENT_RUN_OPTIONS].flatMap((s) => s.env),
    );
    for (const name of [
      'SECRET',
      'APPPASSWORD',
      'APP_PASSWORD',
      'HOST',
      'PORT',
      'CONCURRENT',
      'NAME',
      'AGE',
    ]) {
      expect(env.has(name), name).toBe(true);
    }
    for (const name of [
      'SCOPES',
      'SCOPEPATHS',
      'TOKEN',
      'HUB',
      'AGENTID',
      'UPSTREAM',
      'NUMWORKER',
      'REPORTHARDWARE',
    ]) {
      expect(env.has(name), name).toBe(true);
    }
  });
});

describe('Settings precedence: flag > env > config > default', () => {
  const config = { path: 'slime.yaml', values: { port: 7000, APP_PASSWORD: 'from-config', secret: 'cfg' } };

  it('a flag beats env and config', () => {
    const s = new Settings(HUB_RUN_OPTIONS, { flags: { port: '9000' }, env: { PORT: '8000' }, config });
    expect(s.int('port', { min: 0, max: 65535 })).toBe(9000);
    expect(s.find('port')?.source).toBe('--port');
  });

  it('env beats config, with either env spelling', () => {
    const s = new Settings(HUB_RUN_OPTIONS, {
      flags: {},
      env: { PORT: '8000', APPPASSWORD: 'go-style' },
      config,
    });
    expect(s.int('port', { min: 0, max: 65535 })).toBe(8000);
    expect(s.string('app-password')).toBe('go-style');
    const t = new Settings(HUB_RUN_OPTIONS, { flags: {}, env: { APP_PASSWORD: 'a', APPPASSWORD: 'b' } });
    expect(t.string('app-password')).toBe('a');
  });

  it('an empty env var counts as unset', () => {
    const s = new Settings(HUB_RUN_OPTIONS, { flags: {}, env: { PORT: '' }, config });
    expect(s.int('port', { min: 0, max: 65535 })).toBe(7000);
    expect(s.find('port')?.source).toBe('slime.yaml key "port"');
  });

  it('config keys match in any spelling; absent everywhere is undefined', () => {
    const s = new Settings(HUB_RUN_OPTIONS, { flags: {}, env: {}, config });
    expect(s.string('app-password')).toBe('from-config');
    expect(s.requireString('secret')).toBe('cfg');
    expect(s.int('concurrent', { min: 0 })).toBeUndefined();
  });

  it('bad values name their source', () => {
    const s = new Settings(HUB_RUN_OPTIONS, {
      flags: { concurrent: '-1' },
      env: { PORT: 'abc', BLOCK_TIMEOUT: 'soon' },
    });
    expect(() => s.int('port', { min: 0, max: 65535 })).toThrow(
      'invalid env PORT "abc": expected an integer between 0 and 65535',
    );
    expect(() => s.int('concurrent', { min: 0 })).toThrow('invalid --concurrent "-1"');
    expect(() => s.durationMs('block-timeout')).toThrow(/invalid env BLOCK_TIMEOUT "soon"/);
    expect(() => s.int('port', { min: 0, max: 65535 })).toThrow(UsageError);
  });

  it('missing required values name the flag and env vars', () => {
    const s = new Settings(HUB_RUN_OPTIONS, { flags: {}, env: {} });
    expect(() => s.requireString('secret')).toThrow('missing --secret (or env SECRET)');
  });

  it('typed getters: list, bool, duration (bare number = seconds)', () => {
    const s = new Settings(AGENT_RUN_OPTIONS, {
      flags: { reportHardware: true },
      env: { UPSTREAM: 'a:1, b:2 c:3', PRESERVE_HOST: 'no' },
    });
    expect(s.list('upstream')).toEqual(['a:1', 'b:2', 'c:3']);
    expect(s.bool('report-hardware')).toBe(true);
    expect(s.bool('preserve-host')).toBe(false);
    const h = new Settings(HUB_RUN_OPTIONS, { flags: { blockTimeout: '30' }, env: { DRAIN_TIMEOUT: '1m' } });
    expect(h.durationMs('block-timeout')).toBe(30_000);
    expect(h.durationMs('drain-timeout')).toBe(60_000);
  });

  it('config values may be YAML-typed (numbers, lists, booleans)', () => {
    const s = new Settings(AGENT_RUN_OPTIONS, {
      flags: {},
      env: {},
      config: { path: 'c.yaml', values: { upstream: ['a:1', 'b:2'], numWorker: 3, reportHardware: false } },
    });
    expect(s.list('upstream')).toEqual(['a:1', 'b:2']);
    expect(s.int('num-worker', { min: 1 })).toBe(3);
    expect(s.bool('report-hardware')).toBe(false);
    const bad = new Settings(AGENT_RUN_OPTIONS, {
      flags: {},
      env: {},
      config: { path: 'c.yaml', values: { numWorker: 1.5, token: { a: 1 } } },
    });
    expect(() => bad.int('num-worker', { min: 1 })).toThrow('invalid c.yaml key "numWorker" "1.5"');
    expect(() => bad.string('token')).toThrow('expected a string');
  });
});
