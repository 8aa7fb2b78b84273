import { randomUUID } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { Revocation } from '@slime/hub';

/** The deny-list file's shape, as the hub reads it: `{"jti": [...], "agents": [...]}`. */
export interface RevocationFileDoc {
  jti: string[];
  agents: string[];
}

/** Reads a deny-list file; a missing file is an empty list. Throws on a malformed one. */
export async function readRevocationFile(path: string): Promise<RevocationFileDoc> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { jti: [], agents: [] };
    throw err;
  }
  const doc = JSON.parse(text) as unknown;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new TypeError('not a JSON object');
  const strings = (v: unknown, name: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
      throw new TypeError(`${name} must be a list of strings`);
    return v as string[];
  };
  const d = doc as Record<string, unknown>;
  return { jti: strings(d.jti, 'jti'), agents: strings(d.agents, 'agents') };
}

/** Every entry of a deny-list document, agents first, each kind sorted. */
export function revocationEntries(doc: RevocationFileDoc): Revocation[] {
  return [
    ...[...doc.agents].sort().map((value) => ({ kind: 'agent' as const, value })),
    ...[...doc.jti].sort().map((value) => ({ kind: 'jti' as const, value })),
  ];
}

/**
 * Takes an entry off a deny-list file (temp file, then rename, so a hub never reads half a file).
 * Hubs following the file drop it from their list within their poll interval.
 *
 * @returns whether the entry was on the list.
 */
export async function removeFromRevocationFile(path: string, entry: Revocation): Promise<boolean> {
  const doc = await readRevocationFile(path);
  const key = entry.kind === 'jti' ? 'jti' : 'agents';
  const kept = doc[key].filter((v) => v !== entry.value);
  if (kept.length === doc[key].length) return false;
  doc[key] = kept;
  const tmp = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return true;
}
