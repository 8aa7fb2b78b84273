import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfigText } from '../src/config-file.js';
import { ALL_OPTIONS } from '../src/option-specs.js';

const flags = ALL_OPTIONS.map((s) => s.flag);

describe('parseConfigText', () => {
  it('reads YAML with Go spellings', () => {
    const c = parseConfigText(
      'secret: s\nappPassword: p\nnumWorker: 2\nupstream:\n  - a:1\n  - b:2\n',
      'c.yaml',
      flags,
    );
    expect(c.values).toEqual({ secret: 's', appPassword: 'p', numWorker: 2, upstream: ['a:1', 'b:2'] });
  });

  it('reads JSON with kebab spellings', () => {
    expect(parseConfigText('{"app-password":"p","port":9000}', 'c.json', flags).values).toEqual({
      'app-password': 'p',
      port: 9000,
    });
  });

  it('an empty file is an empty config', () => {
    expect(parseConfigText('', 'c.yaml', flags).values).toEqual({});
  });

  it('rejects unknown keys, non-mappings and syntax errors in one line', () => {
    expect(() => parseConfigText('prot: 1\n', 'c.yaml', flags)).toThrow(
      'config file c.yaml: unknown key "prot"',
    );
    expect(() => parseConfigText('- a\n- b\n', 'c.yaml', flags)).toThrow('must be a mapping');
    expect(() => parseConfigText('{"port":', 'c.json', flags)).toThrow(
      /^config file c\.json does not parse: [^\n]+$/,
    );
    expect(() => parseConfigText('a: [1, 2\n', 'c.yaml', flags)).toThrow(
      /^config file c\.yaml does not parse: [^\n]+$/,
    );
  });
});

describe('loadConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slime-cfg-'));

  it('an explicit missing file is a usage error', () => {
    expect(() => loadConfigFile(join(dir, 'nope.yaml'), flags, dir)).toThrow(
      /cannot read config file .*nope\.yaml: no such file/,
    );
  });

  it('falls back to $HOME/.slime.yaml as the Go version does, and ignores its absence', () => {
    const home = mkdtempSync(join(tmpdir(), 'slime-home-'));
    expect(loadConfigFile(undefined, flags, home)).toBeUndefined();
    writeFileSync(join(home, '.slime.yaml'), 'secret: from-home\n');
    expect(loadConfigFile(undefined, flags, home)?.values).toEqual({ secret: 'from-home' });
  });
});
