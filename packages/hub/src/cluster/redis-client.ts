import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/** Default per-call budget of a Redis command on the request path, ms. */
export const DEFAULT_REDIS_TIMEOUT_MS = 50;

export interface RedisClientOptions {
  /** Per-command timeout, ms. Default 50. */
  commandTimeoutMs?: number;
  /**
   * Queue commands while disconnected. Off for the request-path client, so a down Redis fails
   * a call at once instead of after the timeout; on for subscribers, which must wait to subscribe.
   */
  offlineQueue?: boolean;
  logger?: Logger;
  /** Client name shown by CLIENT LIST. */
  name?: string;
}

/**
 * An ioredis client that reconnects forever (at most a second apart) and logs its connection
 * state changes once each, instead of ioredis's unhandled 'error' events.
 *
 * @example
 * ```ts
 * const redis = createRedisClient('redis://127.0.0.1:6379', { commandTimeoutMs: 50 });
 * ```
 */
export function createRedisClient(url: string, options: RedisClientOptions = {}): Redis {
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url))
    throw new TypeError('redis url must start with redis:// or rediss://');
  const timeout = options.commandTimeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  if (!Number.isInteger(timeout) || timeout < 1)
    throw new RangeError('commandTimeoutMs must be an integer >= 1');
  const offline = options.offlineQueue ?? false;
  const opts: RedisOptions = {
    enableOfflineQueue: offline,
    // Subscribers wait for the connection; the request-path client must never queue.
    maxRetriesPerRequest: offline ? null : 1,
    retryStrategy: (times) => Math.min(times * 100, 1000),
    ...(offline ? {} : { commandTimeout: timeout }),
    ...(options.name ? { connectionName: options.name } : {}),
  };
  const redis = new Redis(url, opts);
  const log = options.logger;
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log?.warn({ err: { message: err.message } }, 'redis unreachable; retrying');
  });
  redis.on('ready', () => {
    if (down) log?.info('redis reconnected');
    down = false;
  });
  return redis;
}

/** Resolves once the client is ready, or false after `ms` (the caller decides how to go on). */
export function waitReady(redis: Redis, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    redis.on('ready', onReady);
  });
}
