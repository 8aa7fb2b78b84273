import { type Stats, unwatchFile, watchFile } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import {
  createMirror,
  member,
  type Revocation,
  type RevocationList,
  validateRevocation,
} from './revocations.js';

export interface FileRevocationsOptions {
  /** A JSON file `{"jti": [...], "agents": [...]}`; a missing file is an empty list. */
  path: string;
  /** How often the file is checked for changes, ms. Default 250. */
  pollMs?: number;
  logger?: Logger;
}

interface FileShape {
  jti?: string[];
  agents?: string[];
}

async function readList(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const doc = JSON.parse(text) as FileShape;
  const strings = (v: unknown, name: string) => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
      throw new TypeError(`${name} must be a list of strings`);
    return v as string[];
  };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new TypeError('not a JSON object');
  return [
    ...strings(doc.jti, 'jti').map((j) => `jti:${j}`),
    ...strings(doc.agents, 'agents').map((a) => `agent:${a}`),
  ];
}

/**
 * Adds an entry to a deny-list file (temp file, then rename, so a hub never reads half a file).
 * For hubs without Redis; every hub reading the same file (a shared volume) follows it.
 */
export async function addToRevocationFile(path: string, entry: Revocation): Promise<void> {
  validateRevocation(entry);
  const members = new Set(await readList(path));
  members.add(member(entry));
  const doc: Required<FileShape> = { jti: [], agents: [] };
  for (const m of members) {
    if (m.startsWith('jti:')) doc.jti.push(m.slice(4));
    else doc.agents.push(m.slice(6));
  }
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/** The deny list in a local JSON file, polled for changes (which also works across a rename). */
export function createFileRevocations(options: FileRevocationsOptions): RevocationList {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { path, pollMs = 250, logger: log } = options;
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string');
  if (!Number.isInteger(pollMs) || pollMs < 10) throw new RangeError('pollMs must be an integer >= 10');
  const mirror = createMirror(log);
  let watching = false;
  let closing: Promise<void> | undefined;

  const reload = async () => {
    try {
      mirror.replace(await readList(path));
    } catch (err) {
      log?.error(
        { err: { message: (err as Error).message }, path },
        'revocation file unreadable; keeping the list in force',
      );
    }
  };
  const onStat = (cur: Stats, prev: Stats) => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino || cur.size !== prev.size) void reload();
  };

  return {
    isRevoked: (claims) => mirror.has(claims),
    async revoke(entry) {
      await addToRevocationFile(path, entry);
      mirror.add([member(entry)]);
    },
    onChange: (listener) => mirror.onChange(listener),
    get size() {
      return mirror.set.size;
    },
    async start() {
      if (watching) return;
      watching = true;
      watchFile(path, { interval: pollMs, persistent: false }, onStat);
      await reload();
    },
    close() {
      closing ??= (async () => {
        if (watching) unwatchFile(path, onStat);
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}
