import type { Policy, RequestContext } from './context.js';

/**
 * What `next()` returns past the last policy: one settled promise for every request. A policy
 * that ends a chain may compare with it and skip an `await` (a microtask) on a step that did
 * nothing.
 */
export const DONE: Promise<void> = Promise.resolve();

/**
 * Composes policies into one, outermost first (as in koa and hono). Each may call `next()` at
 * most once; a second call is a bug in that policy and throws instead of running the rest twice.
 * A policy that says it is `idle` right now is passed over for this request.
 */
export function compose(policies: readonly Policy[]): (ctx: RequestContext) => Promise<void> {
  for (const [i, p] of policies.entries()) {
    if (typeof p !== 'function') throw new TypeError(`policies[${i}] must be a function`);
  }
  return (ctx) => {
    let last = -1;
    const run = (i: number): Promise<void> => {
      if (i <= last)
        return Promise.reject(new Error(`policy ${policies[i - 1]?.name || i - 1} called next() twice`));
      let p = policies[i];
      while (p?.idle?.()) p = policies[++i];
      last = i;
      if (!p) return DONE;
      try {
        return p(ctx, () => run(i + 1));
      } catch (err) {
        return Promise.reject(err);
      }
    };
    return run(0);
  };
}
