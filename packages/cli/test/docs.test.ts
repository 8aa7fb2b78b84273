import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_OPTIONS } from '../src/option-specs.js';

// docs/cli.md is the reference users read; a flag or env var added to the table in code must
// appear there too.
const doc = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');

describe('docs/cli.md', () => {
  it('documents every flag, its Go spelling and every env var', () => {
    for (const spec of ALL_OPTIONS) {
      expect(doc, spec.flag).toContain(`\`--${spec.flag}`);
      if (spec.goFlag) expect(doc, spec.goFlag).toContain(`\`--${spec.goFlag}\``);
      for (const env of spec.env) expect(doc, env).toContain(`\`${env}\``);
    }
  });

  it('has the Docker examples and the migration section', () => {
    expect(doc).toContain('## Migrating from the Go Slime Proxy');
    expect(doc).toContain('-p <port>:8080 slime hub run');
    expect(doc).toMatch(/docker run --rm -e SECRET=<secret> slime hub register --name/);
  });
});
