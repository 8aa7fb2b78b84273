import { Redis } from 'ioredis';

/**
 * A connection of its own for SUBSCRIBE (a subscribed connection can run nothing else). It queues
 * commands while disconnected, so a subscription made before Redis is reachable still happens,
 * and ioredis re-subscribes after every reconnect.
 */
export function duplicateForSubscribe(redis: Redis): Redis {
  // No command timeout: a SUBSCRIBE that timed out on a busy server would leave the hub deaf.
  const { commandTimeout: _, ...options } = redis.options;
  const sub = new Redis({ ...options, enableOfflineQueue: true, maxRetriesPerRequest: null });
  sub.on('error', () => {
    // The command client logs connection trouble; the subscriber shares the same fate.
  });
  return sub;
}

/**
 * Runs `resync` whenever either connection becomes ready: after a reconnect a message may have
 * been missed, and the command client is needed to read the state, so whichever comes back last
 * does the work. Returns a function that stops listening.
 */
export function onEitherReady(a: Redis, b: Redis, resync: () => void): () => void {
  a.on('ready', resync);
  b.on('ready', resync);
  return () => {
    a.off('ready', resync);
    b.off('ready', resync);
  };
}
