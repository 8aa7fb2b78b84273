import {
  addToRevocationFile,
  createRedisClient,
  createRedisRevocations,
  type Revocation,
  waitReady,
} from '@slime/hub';
import type { CliContext } from '../context.js';
import type { Settings } from '../settings.js';
import { UsageError } from '../usage-error.js';
import { DEFAULT_REVOCATIONS_FILE, redisUrlFrom } from './hub-cluster.js';

const REDIS_WAIT_MS = 5000;

/**
 * `slime hub revoke --jti ID | --agent NAME`: adds to the deny list every hub follows (the Redis
 * set with --redis, else the revocations file). Hubs close the matching agents within a second
 * and refuse them at the next upgrade.
 */
export async function revokeToken(settings: Settings, ctx: CliContext): Promise<void> {
  const jti = settings.string('jti');
  const agent = settings.string('agent');
  if ((jti === undefined || jti === '') === (agent === undefined || agent === '')) {
    throw new UsageError('give exactly one of --jti <id> or --agent <name>');
  }
  const entry: Revocation = jti ? { kind: 'jti', value: jti } : { kind: 'agent', value: agent! };
  if (entry.value.length > 1024) throw new UsageError(`--${entry.kind} is longer than 1024 characters`);
  const url = redisUrlFrom(settings);
  if (url === undefined) {
    const path = settings.string('revocations-file') ?? DEFAULT_REVOCATIONS_FILE;
    try {
      await addToRevocationFile(path, entry);
    } catch (err) {
      throw new UsageError(`cannot update ${path}: ${(err as Error).message}`, { exitCode: 1, cause: err });
    }
    ctx.stdout(`revoked ${entry.kind} ${entry.value} in ${path}\n`);
    return;
  }
  const redis = createRedisClient(url, { commandTimeoutMs: REDIS_WAIT_MS });
  try {
    if (!(await waitReady(redis, REDIS_WAIT_MS))) {
      throw new UsageError(`cannot reach redis at ${new URL(url).host}`, { exitCode: 1 });
    }
    const keyPrefix = settings.string('redis-prefix') ?? 'slime:';
    try {
      await createRedisRevocations({ redis, keyPrefix }).revoke(entry);
    } catch (err) {
      throw new UsageError(`redis refused the revocation: ${(err as Error).message}`, {
        exitCode: 1,
        cause: err,
      });
    }
    ctx.stdout(`revoked ${entry.kind} ${entry.value} in redis\n`);
  } finally {
    redis.disconnect();
  }
}
