import { randomUUID } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { HubError } from '../errors.js';
import type { PolicyDoc, ValidationResult } from './types.js';
import { validatePolicy } from './validate.js';

const isYamlPath = (path: string) => /^\.ya?ml$/i.test(extname(path));

/** Parses JSON or YAML text (YAML unless the name ends in .json) and validates it. */
export function parsePolicyText(text: string, fileName = 'policy.yaml'): ValidationResult {
  let doc: unknown;
  try {
    doc = extname(fileName).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    return {
      ok: false,
      errors: [
        `${basename(fileName)} is not valid ${isYamlPath(fileName) ? 'YAML' : 'JSON'}: ${(err as Error).message}`,
      ],
    };
  }
  // An empty file is an empty policy, not an error: it is how an operator turns everything off.
  return validatePolicy(doc ?? {});
}

/**
 * Reads and parses a policy file without validating it (for callers that validate with their
 * sections); a file that does not parse is a HubError naming the format.
 */
export async function readPolicyDocument(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return (extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text)) ?? {};
  } catch (err) {
    throw new HubError(
      'ERR_HUB_INVALID_POLICY',
      `${basename(path)} is not valid ${isYamlPath(path) ? 'YAML' : 'JSON'}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Reads and validates a policy file; never throws for bad content (read errors still throw). */
export async function readPolicyFile(path: string): Promise<ValidationResult> {
  return parsePolicyText(await readFile(path, 'utf8'), path);
}

/**
 * Reads a policy file and returns it, or throws one HubError (ERR_HUB_INVALID_POLICY) listing
 * every problem, one per line.
 *
 * @example
 * ```ts
 * const policy = await loadPolicyFile('/etc/slime/policy.yaml');
 * const engine = createPolicyEngine({ policy });
 * ```
 */
export async function loadPolicyFile(path: string): Promise<PolicyDoc> {
  let r: ValidationResult;
  try {
    r = await readPolicyFile(path);
  } catch (err) {
    throw new HubError(
      'ERR_HUB_INVALID_POLICY',
      `cannot read policy file ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (!r.ok) {
    throw new HubError(
      'ERR_HUB_INVALID_POLICY',
      `invalid policy file ${path}:\n${r.errors.map((e) => `  - ${e}`).join('\n')}`,
    );
  }
  return r.policy;
}

/** Serialises a policy in the format its file name implies (YAML for .yaml/.yml, else JSON). */
export function formatPolicy(policy: PolicyDoc, path: string): string {
  return isYamlPath(path) ? stringifyYaml(policy) : `${JSON.stringify(policy, null, 2)}\n`;
}

/**
 * Writes the policy next to its file and renames it into place, so a reader (or a crash) sees
 * either the old file or the new one, never half of one.
 */
export async function savePolicyFile(path: string, policy: PolicyDoc): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  let written = false;
  try {
    await fh.writeFile(formatPolicy(policy, path), 'utf8');
    await fh.sync();
    written = true;
  } finally {
    await fh.close();
    if (!written) await rm(tmp, { force: true });
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
