import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PolicyDoc, PolicyEngine } from '../policy/index.js';
import { duplicateForSubscribe, onEitherReady } from './subscriber.js';

export type PolicySyncEvent = 'published' | 'applied' | 'rejected' | 'error';

export interface PolicySyncOptions {
  /** Command client (not subscribed); the caller owns and closes it. */
  redis: Redis;
  /** Connection for SUBSCRIBE; default a duplicate of `redis`, closed with the sync. */
  subscriber?: Redis;
  engine: PolicyEngine;
  /** Prepended to the key and channel. Default `slime:`. */
  keyPrefix?: string;
  logger?: Logger;
  /** A policy from another hub was applied here (e.g. to persist it to this hub's policy file). */
  onRemoteUpdate?: (doc: PolicyDoc) => void | Promise<void>;
  /** For metrics. */
  onEvent?: (event: PolicySyncEvent) => void;
}

export interface PolicySync {
  /** The engine to hand the admin API: its `update` applies here and publishes to every hub. */
  readonly engine: PolicyEngine;
  /** Version of the policy in force here (0 until one was read from or written to Redis). */
  readonly version: number;
  /** Loads the policy from Redis, or seeds Redis with this hub's policy; subscribes to updates. */
  start(): Promise<void>;
  /** Resolves when every local update so far has been written to Redis (or failed). */
  flush(): Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const RETRY_MS = 1000;

// One hash holds the document and its version, so a reader never sees one without the other.
// 'seed' writes only when no policy is stored yet (the first hub to start wins).
const WRITE_LUA = `
if ARGV[3] == 'seed' and redis.call('HEXISTS', KEYS[1], 'doc') == 1 then return 0 end
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'doc', ARGV[1])
redis.call('PUBLISH', ARGV[2], v)
return v
`;

/**
 * Keeps a hub's policy in step with every other hub on the same Redis: a local update is stored
 * with an incremented version and announced on a channel; each hub re-reads the stored policy on
 * an announcement newer than its own, and after every reconnect (an announcement may have been
 * missed). Last writer wins. A local update made while Redis is down applies here at once and is
 * written when Redis is back.
 *
 * @example
 * ```ts
 * const sync = createPolicySync({ redis, engine });
 * await sync.start();
 * createAdminServer({ engine: sync.engine, token, policyPath });
 * ```
 */
export function createPolicySync(options: PolicySyncOptions): PolicySync {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { redis, engine, keyPrefix = 'slime:', logger: log, onRemoteUpdate, onEvent } = options;
  if (!redis || typeof redis.eval !== 'function') throw new TypeError('redis must be an ioredis client');
  if (!engine || typeof engine.update !== 'function') throw new TypeError('engine must be a PolicyEngine');
  if (typeof keyPrefix !== 'string') throw new TypeError('keyPrefix must be a string');
  const key = `${keyPrefix}policy`;
  const channel = `${keyPrefix}policy:changed`;
  const sub = options.subscriber ?? duplicateForSubscribe(redis);
  const ownsSub = options.subscriber === undefined;

  let version = 0;
  let pending: PolicyDoc | undefined;
  let chain: Promise<void> = Promise.resolve();
  let closed = false;
  let closing: Promise<void> | undefined;
  let retry: NodeJS.Timeout | undefined;
  let failing = false;
  // A read can fail while both connections stay up (a slow reply past the command timeout); no
  // reconnect would follow, so try again shortly.
  const retryLater = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void resync();
    }, RETRY_MS);
    retry.unref();
  };

  const serial = (task: () => Promise<void>) => {
    const run = chain.then(task);
    chain = run.catch(() => {});
    return chain;
  };

  const write = async (doc: PolicyDoc, mode: 'set' | 'seed'): Promise<number> =>
    Number(await redis.eval(WRITE_LUA, 1, key, JSON.stringify(doc), channel, mode));

  const apply = async (text: string, v: number) => {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      onEvent?.('rejected');
      log?.error({ version: v }, 'policy in redis is not JSON; keeping the policy in force');
      version = v;
      return;
    }
    if (JSON.stringify(doc) === JSON.stringify(engine.current())) {
      version = v;
      return;
    }
    try {
      const applied = engine.update(doc);
      version = v;
      onEvent?.('applied');
      log?.info({ version: v }, 'policy from redis applied');
      await onRemoteUpdate?.(applied);
    } catch (err) {
      // Another hub accepted it (maybe a newer build); this one cannot: keep the old rules, say so.
      version = v;
      onEvent?.('rejected');
      log?.error({ err, version: v }, 'policy from redis rejected; keeping the policy in force');
    }
  };

  const resync = () =>
    serial(async () => {
      if (closed) return;
      try {
        if (pending) {
          const doc = pending;
          version = await write(doc, 'set');
          if (pending === doc) pending = undefined;
          onEvent?.('published');
          log?.info({ version }, 'policy update written to redis after reconnect');
          return;
        }
        const [text, v] = await redis.hmget(key, 'doc', 'version');
        failing = false;
        if (text == null) {
          const seeded = await write(engine.current(), 'seed');
          if (seeded > 0) {
            version = seeded;
            log?.info({ version }, 'redis had no policy; seeded it with this hub policy');
            return;
          }
          const [t2, v2] = await redis.hmget(key, 'doc', 'version');
          if (t2 != null) await apply(t2, Number(v2));
          return;
        }
        if (Number(v) > version) await apply(text, Number(v));
      } catch (err) {
        // Once per outage: the retries while Redis stays down would only repeat it.
        if (!failing) {
          failing = true;
          onEvent?.('error');
          log?.warn({ err: { message: (err as Error).message } }, 'policy sync with redis failed; retrying');
        }
        retryLater();
      }
    });

  const publish = (doc: PolicyDoc) => {
    pending = doc;
    return serial(async () => {
      if (closed || pending !== doc) return;
      try {
        version = await write(doc, 'set');
        if (pending === doc) pending = undefined;
        onEvent?.('published');
      } catch (err) {
        onEvent?.('error');
        log?.warn(
          { err: { message: (err as Error).message } },
          'policy applied here but not written to redis; will write it when redis is back',
        );
      }
    });
  };

  const onMessage = (ch: string, message: string) => {
    if (ch !== channel || !(Number(message) > version)) return;
    void resync();
  };
  sub.on('message', onMessage);
  const stopReady = onEitherReady(redis, sub, () => void resync());

  const wrapped: PolicyEngine = {
    ...engine,
    update(policy) {
      const doc = engine.update(policy);
      void publish(doc);
      return doc;
    },
  };

  return {
    engine: wrapped,
    get version() {
      return version;
    },
    async start() {
      // Read again once subscribed: an update between the first read and the subscription
      // would otherwise go unseen until the next one.
      const subscribed = sub.subscribe(channel).then(
        () => resync(),
        (err: unknown) => log?.warn({ err }, 'policy sync could not subscribe'),
      );
      await resync();
      // With Redis up the subscription is a round trip away; with Redis down, do not hold the start.
      if (redis.status === 'ready') await subscribed;
    },
    flush: () => chain,
    close() {
      closing ??= (async () => {
        closed = true;
        stopReady();
        clearTimeout(retry);
        sub.off('message', onMessage);
        await chain;
        if (ownsSub) sub.disconnect();
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}
