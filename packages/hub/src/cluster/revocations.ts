import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { duplicateForSubscribe, onEitherReady } from './subscriber.js';

/** A token id (`jti`) or an agent name (`sub`, every token of that agent). */
export interface Revocation {
  readonly kind: 'jti' | 'agent';
  readonly value: string;
}

/**
 * The deny list. `isRevoked` reads an in-memory mirror, so the agent upgrade never waits on
 * Redis or the disk; the mirror follows the shared list within a second.
 */
export interface RevocationList {
  isRevoked(claims: { readonly jti: string; readonly sub: string }): boolean;
  /** Adds to the shared list (and the mirror); every hub following it learns of it. */
  revoke(entry: Revocation): Promise<void>;
  /** Called after the mirror gained entries; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  readonly size: number;
  /** Loads the list and starts following it. */
  start(): Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export const member = (e: Revocation) => `${e.kind}:${e.value}`;

export function validateRevocation(entry: Revocation): Revocation {
  if (typeof entry !== 'object' || entry === null) throw new TypeError('revocation must be an object');
  if (entry.kind !== 'jti' && entry.kind !== 'agent')
    throw new RangeError('revocation kind must be jti or agent');
  if (typeof entry.value !== 'string' || entry.value.length === 0 || entry.value.length > 1024)
    throw new RangeError('revocation value must be a non-empty string of at most 1024 characters');
  return entry;
}

/** The mirror and its listeners, shared by both backends. */
export function createMirror(log: Logger | undefined) {
  const set = new Set<string>();
  const listeners = new Set<() => void>();
  return {
    set,
    has: (claims: { jti: string; sub: string }) =>
      set.has(`jti:${claims.jti}`) || set.has(`agent:${claims.sub}`),
    /** Adds members; tells listeners when something was new. */
    add(members: Iterable<string>) {
      let grew = false;
      for (const m of members) {
        if (!set.has(m)) {
          set.add(m);
          grew = true;
        }
      }
      if (!grew) return;
      for (const l of listeners) {
        try {
          l();
        } catch (err) {
          log?.error({ err }, 'revocation listener failed');
        }
      }
    },
    /** Replaces the mirror with `members` (a file edited by hand may also remove entries). */
    replace(members: Iterable<string>) {
      const next = new Set(members);
      for (const m of [...set]) if (!next.has(m)) set.delete(m);
      this.add(next);
    },
    onChange(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export interface RedisRevocationsOptions {
  redis: Redis;
  subscriber?: Redis;
  keyPrefix?: string;
  logger?: Logger;
}

/**
 * The deny list in a Redis set, announced on a channel; re-read on every reconnect.
 *
 * @example
 * ```ts
 * const revocations = createRedisRevocations({ redis });
 * await revocations.start();
 * const hub = createHub({ secret, isRevoked: revocations.isRevoked });
 * disconnectRevoked(hub, revocations);
 * ```
 */
export function createRedisRevocations(
  options: RedisRevocationsOptions,
): RevocationList & { unrevoke(entry: Revocation): Promise<boolean> } {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { redis, keyPrefix = 'slime:', logger: log } = options;
  if (!redis || typeof redis.smembers !== 'function') throw new TypeError('redis must be an ioredis client');
  const key = `${keyPrefix}revoked`;
  const channel = `${keyPrefix}revoked:added`;
  // An entry taken off the list: every hub re-reads it (a removal cannot be applied as a delta to
  // a mirror that may have missed the add).
  const removedChannel = `${keyPrefix}revoked:removed`;
  let sub: Redis | undefined = options.subscriber;
  const ownsSub = sub === undefined;
  const mirror = createMirror(log);
  let stopReady: (() => void) | undefined;
  let closing: Promise<void> | undefined;
  let closed = false;
  let failing = false;
  let retry: NodeJS.Timeout | undefined;

  const reload = async (): Promise<void> => {
    try {
      mirror.add(await redis.smembers(key));
      failing = false;
    } catch (err) {
      if (!failing)
        log?.warn(
          { err: { message: (err as Error).message } },
          'revocation list: redis read failed; retrying',
        );
      failing = true;
      // A slow reply fails without a reconnect to trigger the next read: try again shortly.
      if (closed || retry) return;
      retry = setTimeout(() => {
        retry = undefined;
        void reload();
      }, 1000);
      retry.unref();
    }
  };
  const resync = async (): Promise<void> => {
    try {
      mirror.replace(await redis.smembers(key));
    } catch (err) {
      log?.warn(
        { err: { message: (err as Error).message } },
        'revocation list: re-read after a removal failed',
      );
    }
  };
  const onMessage = (ch: string, message: string) => {
    if (ch === channel) mirror.add([message]);
    else if (ch === removedChannel) void resync();
  };

  return {
    isRevoked: (claims) => mirror.has(claims),
    async revoke(entry) {
      const m = member(validateRevocation(entry));
      await redis.multi().sadd(key, m).publish(channel, m).exec();
      mirror.add([m]);
    },
    /** Takes an entry off the shared list; hubs following it accept the token again at once. */
    async unrevoke(entry) {
      const m = member(validateRevocation(entry));
      const result = await redis.multi().srem(key, m).publish(removedChannel, m).exec();
      mirror.set.delete(m);
      return Number(result?.[0]?.[1] ?? 0) > 0;
    },
    onChange: (listener) => mirror.onChange(listener),
    get size() {
      return mirror.set.size;
    },
    async start() {
      if (stopReady) return;
      sub ??= duplicateForSubscribe(redis);
      sub.on('message', onMessage);
      stopReady = onEitherReady(redis, sub, () => void reload());
      const subscribed = sub
        .subscribe(channel, removedChannel)
        .then(reload, (err: unknown) => log?.warn({ err }, 'revocation list could not subscribe'));
      await reload();
      if (redis.status === 'ready') await subscribed;
    },
    close() {
      closing ??= (async () => {
        closed = true;
        clearTimeout(retry);
        stopReady?.();
        sub?.off('message', onMessage);
        if (ownsSub) sub?.disconnect();
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}
