import { clientGone, expectedError, type HubError } from '../errors.js';
import type { DispatchTicket } from './dispatch-types.js';
import type { AppShare, FairQueue } from './fair-queue.js';

/** The dispatcher's answers for requests it does not serve, in one place. */

export { clientGone };

export const shuttingDown = () =>
  expectedError('ERR_HUB_SHUTTING_DOWN', 'hub is shutting down', { retryAfter: 1 });

/** The Slime-Block budget (or the re-dispatch wait) ran out; `what` it waited for names the limit. */
export const blockTimeout = (ms: number | undefined, what = 'no agent became free') =>
  expectedError('ERR_HUB_BLOCK_TIMEOUT', `${what} within ${ms} ms`, { retryAfter: 1 });

export const shed = () =>
  expectedError('ERR_HUB_OVERLOADED', 'shed from a full wait queue for a request of higher priority', {
    retryAfter: 1,
  });

export function noAgent(ticket: DispatchTicket): HubError {
  const what =
    ticket.scope === undefined ? 'no agent is free' : `no agent for scope "${ticket.scope}" is free`;
  return expectedError('ERR_HUB_NO_AGENT', `${what}; send Slime-Block: 1 to wait`, { retryAfter: 1 });
}

/**
 * Whether a new waiter of `app` at `priority` finds room: in the whole queue (`maxQueue`) and in
 * its application's (`apps[].maxQueue`). When full, a waiter of lower priority gives up its place
 * (`shed`, answered 503) if there is one; else the newcomer's refusal is returned.
 */
export function queueRoom<T>(
  queue: FairQueue<T>,
  limits: { maxQueue: number; share: AppShare },
  app: string,
  priority: Parameters<FairQueue<T>['sheddable']>[0],
  shedOne: (victim: T) => void,
): HubError | undefined {
  const appLimit = limits.share.maxQueue;
  if (appLimit !== undefined && queue.sizeOf(app) >= appLimit) {
    const victim = queue.sheddable(priority, app);
    if (!victim) {
      return expectedError('ERR_HUB_QUEUE_FULL', `wait queue of application "${app}" is full (${appLimit})`, {
        retryAfter: 1,
      });
    }
    shedOne(victim);
  }
  if (queue.size >= limits.maxQueue) {
    const victim = queue.sheddable(priority);
    if (!victim) {
      return expectedError('ERR_HUB_QUEUE_FULL', `wait queue is full (${limits.maxQueue})`, {
        retryAfter: 1,
      });
    }
    shedOne(victim);
  }
  return undefined;
}
