import { DEFAULT_APP } from '../apps/app-types.js';
import { HubError } from '../errors.js';
import type { Attempt, RequestContext } from '../pipeline/context.js';
import { abortableSleep } from './abortable-sleep.js';
import type { Shaper, ShapingKey, ShapingPermit } from './shaper.js';

/** The try being shaped: shaping runs in the pipeline's downstream, once per attempt. */
export function attemptOf(ctx: RequestContext): Attempt {
  if (!ctx.attempt) throw new HubError('ERR_HUB_INTERNAL', 'shaping runs only inside an attempt');
  return ctx.attempt;
}

export type Admitted = ShapingPermit & { delayMs: number };

export interface ShapingWaitDeps {
  now: () => number;
  arm: (fn: () => void, ms: number) => unknown;
  disarm: (handle: unknown) => void;
}

export interface ShapingWait {
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** What is left of the request's Slime-Block budget, ms (undefined: no bound). */
  budgetLeft(ctx: RequestContext): number | undefined;
  waitForSlot(
    ctx: RequestContext,
    key: ShapingKey,
    critical: boolean,
    options?: { front?: boolean; before?: () => void },
  ): Promise<Admitted>;
}

/** The waiting side of the shaping policy: sleeps, the Slime-Block budget and the wait for a slot. */
export function createShapingWait(shaper: Shaper, deps: ShapingWaitDeps): ShapingWait {
  const { arm, disarm } = deps;
  const sleep = (ms: number, signal: AbortSignal) => abortableSleep(ms, signal, arm, disarm);

  /** What is left of the request's Slime-Block budget, ms (undefined: no bound). */
  const budgetLeft = (ctx: RequestContext) =>
    ctx.blockTimeoutMs === undefined
      ? undefined
      : Math.max(0, ctx.startedAt + ctx.blockTimeoutMs - deps.now());

  /**
   * Waits for a slot, FIFO among this policy's waiters, woken by the limiter (no polling). A
   * re-queued request waits at the `front`: it subscribes first, then `before()` frees the slot it
   * held, so that slot (if the limit still allows it) comes straight back to it.
   */
  const waitForSlot = (
    ctx: RequestContext,
    key: ShapingKey,
    critical: boolean,
    options: { front?: boolean; before?: () => void } = {},
  ) =>
    new Promise<Admitted>((resolve, reject) => {
      let timer: unknown;
      let settled = false;
      const finish = (err?: HubError, admitted?: Admitted) => {
        if (settled) return;
        settled = true;
        off();
        attemptOf(ctx).signal.removeEventListener('abort', onAbort);
        if (timer !== undefined) disarm(timer);
        if (err) reject(err);
        else resolve(admitted!);
      };
      const off = shaper.onAvailable(
        key,
        () => {
          const a = shaper.admit(key, { critical, quiet: true });
          if (a.ok) finish(undefined, Object.assign(a.permit, { delayMs: a.delayMs }));
          return a.ok;
        },
        // waiters of a group take turns by application, as in the dispatcher's queue
        options.front
          ? { front: true }
          : { app: ctx.app ?? DEFAULT_APP, ...(ctx.priority ? { priority: ctx.priority } : {}) },
      );
      const onAbort = () =>
        finish(new HubError('ERR_HUB_CLIENT_GONE', 'client went away while waiting for a slot'));
      if (options.before) {
        options.before();
        // Nothing notifies when the group has no limiter of its own (per-agent groups): ask once.
        if (!settled) {
          const a = shaper.admit(key, { critical, quiet: true });
          if (a.ok) finish(undefined, Object.assign(a.permit, { delayMs: a.delayMs }));
        }
        if (settled) return;
      }
      const { signal } = attemptOf(ctx);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      const left = budgetLeft(ctx);
      if (left !== undefined) {
        timer = arm(
          () =>
            finish(
              new HubError('ERR_HUB_BLOCK_TIMEOUT', `no shaping slot within ${ctx.blockTimeoutMs} ms`, {
                retryAfter: 1,
              }),
            ),
          // the budget counts from the request's arrival (jitter already spent part of it)
          left,
        );
      }
    });

  return { sleep, budgetLeft, waitForSlot };
}
