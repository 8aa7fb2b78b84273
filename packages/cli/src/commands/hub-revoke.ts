import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  addToRevocationFile,
  createRedisClient,
  createRedisRevocations,
  type Revocation,
  waitReady,
} from '@slime/hub';
import type { CliContext } from '../context.js';
import { readRevocationFile, removeFromRevocationFile, revocationEntries } from '../revocation-file.js';
import type { Settings } from '../settings.js';
import { UsageError } from '../usage-error.js';
import { DEFAULT_REVOCATIONS_FILE, redisUrlFrom, STATE_FILES } from './hub-cluster.js';

const REDIS_WAIT_MS = 5000;

/** Where the deny list lives: the hubs' Redis set, or the file they follow. */
type Store = { kind: 'redis'; url: string } | { kind: 'file'; path: string };

/**
 * The deny list the hub reads: the Redis set with --redis; else --revocations-file, else
 * `<state-dir>/revoked.json`. Without either, `./slime-revoked.json` only when it already exists
 * (a hub started in this directory without a state dir reads it): a file created elsewhere would
 * be a revocation no hub ever sees.
 */
export function revocationStore(settings: Settings): Store {
  const url = redisUrlFrom(settings);
  if (url !== undefined) return { kind: 'redis', url };
  const explicit = settings.string('revocations-file');
  if (explicit !== undefined && explicit !== '') return { kind: 'file', path: explicit };
  const dir = settings.string('state-dir');
  if (dir !== undefined && dir !== '') return { kind: 'file', path: join(dir, STATE_FILES.revocations) };
  if (existsSync(DEFAULT_REVOCATIONS_FILE)) return { kind: 'file', path: DEFAULT_REVOCATIONS_FILE };
  throw new UsageError(
    'where does the hub read its deny list? give --state-dir (env SLIME_STATE_DIR) or --revocations-file as the hub runs with, or --redis',
  );
}

function entryFrom(settings: Settings, verb: string): Revocation {
  const jti = settings.string('jti');
  const agent = settings.string('agent');
  if ((jti === undefined || jti === '') === (agent === undefined || agent === '')) {
    throw new UsageError(`give exactly one of --jti <id> or --agent <name> (to ${verb})`);
  }
  const entry: Revocation = jti ? { kind: 'jti', value: jti } : { kind: 'agent', value: agent! };
  if (entry.value.length > 1024) throw new UsageError(`--${entry.kind} is longer than 1024 characters`);
  return entry;
}

/** Runs `use` with a connected Redis client; exit 1 when Redis cannot be reached. */
async function withRedis<T>(url: string, use: (redis: ReturnType<typeof createRedisClient>) => Promise<T>) {
  const redis = createRedisClient(url, { commandTimeoutMs: REDIS_WAIT_MS });
  try {
    if (!(await waitReady(redis, REDIS_WAIT_MS))) {
      throw new UsageError(`cannot reach redis at ${new URL(url).host}`, { exitCode: 1 });
    }
    try {
      return await use(redis);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`redis refused the command: ${(err as Error).message}`, {
        exitCode: 1,
        cause: err,
      });
    }
  } finally {
    redis.disconnect();
  }
}

function fileError(path: string, err: unknown): UsageError {
  return new UsageError(`cannot update ${path}: ${(err as Error).message}`, { exitCode: 1, cause: err });
}

/** `slime hub revoke --list`: one `agent <name>` or `jti <id>` line per entry on stdout. */
async function listRevocations(store: Store, settings: Settings, ctx: CliContext): Promise<void> {
  let entries: Revocation[];
  if (store.kind === 'file') {
    try {
      entries = revocationEntries(await readRevocationFile(store.path));
    } catch (err) {
      throw new UsageError(`cannot read ${store.path}: ${(err as Error).message}`, {
        exitCode: 1,
        cause: err,
      });
    }
  } else {
    const key = `${settings.string('redis-prefix') ?? 'slime:'}revoked`;
    const members = await withRedis(store.url, (redis) => redis.smembers(key));
    const doc = { jti: [] as string[], agents: [] as string[] };
    for (const m of members) {
      if (m.startsWith('jti:')) doc.jti.push(m.slice(4));
      else if (m.startsWith('agent:')) doc.agents.push(m.slice(6));
    }
    entries = revocationEntries(doc);
  }
  for (const e of entries) ctx.stdout(`${e.kind} ${e.value}\n`);
  const where = store.kind === 'file' ? store.path : 'redis';
  ctx.stderr(`${entries.length} ${entries.length === 1 ? 'entry' : 'entries'} in ${where}\n`);
}

/**
 * `slime hub revoke --jti ID | --agent NAME`: adds to the deny list every hub follows (the Redis
 * set with --redis, else the revocations file in the state dir or given). Hubs close the matching
 * agents within a second and refuse them at the next upgrade. `--list` prints the list.
 */
export async function revokeToken(settings: Settings, ctx: CliContext): Promise<void> {
  if (settings.bool('list')) {
    if (settings.string('jti') || settings.string('agent'))
      throw new UsageError('--list takes no --jti or --agent');
    await listRevocations(revocationStore(settings), settings, ctx);
    return;
  }
  const entry = entryFrom(settings, 'revoke');
  const store = revocationStore(settings);
  if (store.kind === 'file') {
    try {
      await addToRevocationFile(store.path, entry);
    } catch (err) {
      throw fileError(store.path, err);
    }
    ctx.stdout(`revoked ${entry.kind} ${entry.value} in ${store.path}\n`);
    return;
  }
  const keyPrefix = settings.string('redis-prefix') ?? 'slime:';
  await withRedis(store.url, (redis) => createRedisRevocations({ redis, keyPrefix }).revoke(entry));
  ctx.stdout(`revoked ${entry.kind} ${entry.value} in redis\n`);
}

/**
 * `slime hub unrevoke --jti ID | --agent NAME`: takes an entry off the deny list. Hubs following
 * a file accept the token again within a second, hubs on Redis at once (they re-read the list).
 */
export async function unrevokeToken(settings: Settings, ctx: CliContext): Promise<void> {
  const entry = entryFrom(settings, 'unrevoke');
  const store = revocationStore(settings);
  let removed: boolean;
  if (store.kind === 'file') {
    try {
      removed = await removeFromRevocationFile(store.path, entry);
    } catch (err) {
      throw fileError(store.path, err);
    }
  } else {
    const keyPrefix = settings.string('redis-prefix') ?? 'slime:';
    removed = await withRedis(store.url, (redis) =>
      createRedisRevocations({ redis, keyPrefix }).unrevoke(entry),
    );
  }
  const where = store.kind === 'file' ? store.path : 'redis';
  if (!removed) {
    ctx.stdout(`${entry.kind} ${entry.value} was not revoked in ${where}; nothing changed\n`);
    return;
  }
  ctx.stdout(`unrevoked ${entry.kind} ${entry.value} in ${where}\n`);
}
