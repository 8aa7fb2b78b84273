import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { foldName } from './settings.js';
import { UsageError } from './usage-error.js';

export interface ConfigFile {
  readonly path: string;
  readonly values: Readonly<Record<string, unknown>>;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/**
 * Parses a config file's text: JSON when the name ends in .json, else YAML (which also reads
 * most JSON). The top level must be a mapping of flag names in any spelling (`appPassword`,
 * `app-password`, `APP_PASSWORD`); a name that no slime command knows is an error, so a typo
 * does not silently fall back to a default.
 */
export function parseConfigText(text: string, path: string, knownFlags: readonly string[]): ConfigFile {
  let doc: unknown;
  try {
    doc = path.toLowerCase().endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new UsageError(`config file ${path} does not parse: ${firstLine(err)}`, { cause: err });
  }
  if (doc === null || doc === undefined) return { path, values: {} };
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UsageError(`config file ${path} must be a mapping of flag names to values`);
  }
  const known = new Set(knownFlags.map(foldName));
  for (const key of Object.keys(doc)) {
    if (!known.has(foldName(key))) throw new UsageError(`config file ${path}: unknown key "${key}"`);
  }
  return { path, values: doc as Record<string, unknown> };
}

/**
 * Loads `--config FILE`, or the Go version's default `$HOME/.slime.yaml` when it exists.
 * An explicit file that cannot be read is a usage error; a missing default file is not.
 */
export function loadConfigFile(
  explicitPath: string | undefined,
  knownFlags: readonly string[],
  home: string = homedir(),
): ConfigFile | undefined {
  const path = explicitPath ?? join(home, '.slime.yaml');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (explicitPath === undefined) return undefined;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : firstLine(err);
    throw new UsageError(`cannot read config file ${path}: ${why}`, { cause: err });
  }
  return parseConfigText(text, path, knownFlags);
}
