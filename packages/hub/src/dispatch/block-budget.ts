import type { RequestContext } from '../pipeline/context.js';

/**
 * What is left of a request's Slime-Block budget at `now`, ms; undefined when it has none. One
 * budget for the whole wait, counted from the request's arrival: jitter, the queue, a re-queue after
 * a throttle answer and re-dispatches after an agent loss all spend the same one.
 */
export function blockBudgetLeft(
  ctx: Pick<RequestContext, 'blockTimeoutMs' | 'startedAt'>,
  now: number,
): number | undefined {
  return ctx.blockTimeoutMs === undefined ? undefined : Math.max(0, ctx.startedAt + ctx.blockTimeoutMs - now);
}
