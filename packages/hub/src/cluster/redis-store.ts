import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { HubError } from '../errors.js';
import type { CheckResult, CounterStore, LimitSpec, LimitState } from '../policy/store.js';
import { RATE_LIMIT_LUA, RATE_LIMIT_SHA } from './rate-limit-script.js';
import { DEFAULT_REDIS_TIMEOUT_MS } from './redis-client.js';

export type FailMode = 'fail-open' | 'fail-closed';
export const FAIL_MODES: readonly FailMode[] = ['fail-open', 'fail-closed'];

/** Why a store call did not get an answer from Redis. */
export type StoreFailure = 'timeout' | 'error';

export interface RedisStoreOptions {
  /** A connected ioredis client; the store does not close it (its owner does). */
  redis: Redis;
  /** Prepended to every key. Default `slime:`. */
  keyPrefix?: string;
  /** Longest a check may take before the fail mode answers, ms. Default 50. */
  timeoutMs?: number;
  /** What a check answers when Redis is slow or down. Default fail-open (admit). */
  failMode?: FailMode;
  /**
   * Whose clock the windows follow. `redis` (default): Redis TIME, one clock for every hub, so
   * skew between hubs cannot stretch a window. `hub`: the `now` the engine passes (tests).
   */
  clock?: 'redis' | 'hub';
  /** Called once per failed call, for metrics. */
  onFailure?: (op: 'check' | 'charge', failure: StoreFailure, mode: FailMode) => void;
  logger?: Logger;
}

const ALG = { 'sliding-window': 's', 'fixed-window': 'f', 'token-bucket': 't' } as const;

class StoreTimeout extends Error {
  override readonly name = 'StoreTimeout';
}

function fromReply(reply: unknown, count: number): CheckResult {
  if (!Array.isArray(reply) || reply.length !== 1 + count * 4)
    throw new TypeError('unexpected reply from the rate-limit script');
  const n = reply.map(Number);
  const limits: LimitState[] = [];
  for (let i = 0; i < count; i++) {
    const at = 1 + i * 4;
    const never = (v: number) => (v === -1 ? Number.POSITIVE_INFINITY : v);
    limits.push({
      allowed: n[at] === 1,
      remaining: n[at + 1]!,
      resetMs: never(n[at + 2]!),
      retryAfterMs: never(n[at + 3]!),
    });
  }
  return { admitted: n[0] === 1, limits };
}

/**
 * Rate-limit counters in Redis, shared by every hub that uses the same Redis and key prefix.
 * Each check is one EVALSHA of {@link RATE_LIMIT_LUA} over all of a request's counters. A call
 * that takes longer than `timeoutMs`, or fails, is answered by the fail mode: fail-open admits
 * (the limits are briefly local-less, never a stall), fail-closed refuses with 503.
 *
 * @example
 * ```ts
 * const redis = createRedisClient(url);
 * const engine = createPolicyEngine({ policy, store: createRedisStore({ redis }) });
 * ```
 */
export function createRedisStore(options: RedisStoreOptions): CounterStore {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { redis, keyPrefix = 'slime:', logger: log, onFailure } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  const failMode = options.failMode ?? 'fail-open';
  const clock = options.clock ?? 'redis';
  if (!redis || typeof redis.evalsha !== 'function') throw new TypeError('redis must be an ioredis client');
  if (typeof keyPrefix !== 'string') throw new TypeError('keyPrefix must be a string');
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
    throw new RangeError('timeoutMs must be an integer >= 1');
  if (!FAIL_MODES.includes(failMode)) throw new RangeError('failMode must be fail-open or fail-closed');
  if (clock !== 'redis' && clock !== 'hub') throw new RangeError('clock must be redis or hub');
  if (onFailure !== undefined && typeof onFailure !== 'function')
    throw new TypeError('onFailure must be a function');
  // One hash tag for every counter: a request's counters must share a slot for one script to
  // touch them all under Redis Cluster.
  const keyOf = (id: string) => `${keyPrefix}{rl}:${id}`;
  let failing = false;
  let closed = false;

  const run = async (mode: 'check' | 'charge', limits: readonly LimitSpec[], now: number, amount: number) => {
    const keys = limits.map((l) => keyOf(l.id));
    const args: (string | number)[] = [mode, clock === 'hub' ? now : '', amount];
    for (const l of limits) args.push(ALG[l.algorithm], l.limit, l.windowMs, l.burst, l.cost);
    let timer: NodeJS.Timeout | undefined;
    const call = (async () => {
      try {
        return await redis.evalsha(RATE_LIMIT_SHA, keys.length, ...keys, ...args);
      } catch (err) {
        // A restarted or flushed Redis forgets scripts: send the body once, it is cached again.
        if (err instanceof Error && err.message.startsWith('NOSCRIPT'))
          return await redis.eval(RATE_LIMIT_LUA, keys.length, ...keys, ...args);
        throw err;
      }
    })();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreTimeout(`redis did not answer in ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const reply = await Promise.race([call, deadline]);
      if (failing) log?.info('rate-limit store: redis answers again');
      failing = false;
      return reply;
    } finally {
      clearTimeout(timer);
      call.catch(() => {});
    }
  };

  const failed = (op: 'check' | 'charge', err: unknown) => {
    const failure: StoreFailure =
      err instanceof StoreTimeout || (err instanceof Error && /timed? ?out/i.test(err.message))
        ? 'timeout'
        : 'error';
    onFailure?.(op, failure, failMode);
    if (!failing) {
      failing = true;
      log?.warn(
        { err: { message: (err as Error)?.message }, failure, failMode },
        'rate-limit store: redis failed',
      );
    }
  };

  return {
    async checkAndCharge(limits, now) {
      if (limits.length === 0) return { admitted: true, limits: [] };
      try {
        return fromReply(await run('check', limits, now, 0), limits.length);
      } catch (err) {
        failed('check', err);
        if (failMode === 'fail-closed') {
          throw new HubError('ERR_HUB_OVERLOADED', 'rate-limit store unavailable', {
            retryAfter: 1,
            cause: err,
          });
        }
        return {
          admitted: true,
          limits: limits.map((l) => ({
            allowed: true,
            remaining: l.limit,
            resetMs: l.windowMs,
            retryAfterMs: 0,
          })),
        };
      }
    },
    async charge(limits, amount, now) {
      if (limits.length === 0 || closed) return;
      try {
        await run('charge', limits, now, amount);
      } catch (err) {
        // Usage after admission is best effort: losing it under a Redis outage only under-counts.
        failed('charge', err);
      }
    },
    // Counters of changed rules carry a new rule hash; the old keys expire on their own within two
    // windows. Deleting here would race with hubs that have not applied the update yet.
    async retainRules() {},
    async close() {
      closed = true;
    },
  };
}
