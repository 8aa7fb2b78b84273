import { DEFAULT_APP } from '../apps/app-types.js';
import { HubError } from '../errors.js';
import type { Policy, RequestContext } from '../pipeline/context.js';
import { createJitterPolicy } from './jitter-policy.js';
import type { SampleOutcome } from './limiter-types.js';
import { headerValue, parseRetryAfter } from './retry-after.js';
import type { Shaper, ShapingKey, ShapingPermit } from './shaper.js';
import { type Admitted, attemptOf, createShapingWait } from './shaping-wait.js';

export interface ShapingPolicyDeps {
  now: () => number;
  random: () => number;
  /** Most requests waiting for a shaping slot at once (the hub's --max-queue). Default 10000. */
  maxWaiting?: number;
  /** Application queue limits (the policy's `apps[].maxQueue`), applied to shaping waits too. */
  appShare?: (app: string) => { maxQueue: number | undefined };
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: never) => void;
}

// RFC 9110 §9.2.2: repeating these has the same effect as sending them once.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Requests being re-sent through `ctx.downstream` (shaping + dispatch) after a throttle answer:
 * the shaping slot passes them straight to dispatch, since the policy that re-sends them already
 * holds their slot. Module-wide, so a shaping section replaced meanwhile honours it too.
 */
const RESENDING = new WeakSet<RequestContext>();

// Failures of the upstream itself teach the limiter; the others (client gone, no agent) do not.
const OUTCOME_OF: Partial<Record<string, SampleOutcome>> = {
  ERR_HUB_UPSTREAM_TIMEOUT: 'timeout',
  ERR_HUB_STREAM_IDLE: 'timeout',
  ERR_HUB_UPSTREAM_ERROR: 'error',
  ERR_HUB_UPSTREAM_UNREACHABLE: 'error',
};

/**
 * The shaper as a `(ctx, next)` policy, for the simple path: jitter, then a concurrency slot (a
 * refused request waits in FIFO order if it sent Slime-Block, else gets 503 with Retry-After), then
 * the pacing delay (and any hold the upstream asked for with Retry-After), then dispatch. The slot
 * is held until the response ends, since the upstream is busy until then; the latency sample is
 * the time to the response head.
 *
 * With `retryThrottled`, a Slime-Block request whose answer is a fast throttle is re-queued at the
 * head of the line and sent again through `ctx.downstream` (its `next()` runs only once), at most
 * `attempts` times and within its Slime-Block budget.
 */
export function createShapingPolicy(shaper: Shaper, deps: ShapingPolicyDeps): Policy {
  const arm = deps.setTimeout ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
  const disarm = (deps.clearTimeout ?? clearTimeout) as (handle: unknown) => void;
  const maxWaiting = deps.maxWaiting ?? 10_000;
  if (!Number.isInteger(maxWaiting) || maxWaiting < 1)
    throw new RangeError('maxWaiting must be an integer >= 1');
  let waiting = 0;
  // Per application, so one app's flood cannot fill the shaping queue past its own maxQueue.
  const waitingByApp = new Map<string, number>();
  const jitters = new Map<number, Policy>();
  const jitterFor = (maxDelayMs: number, maxCanWaitMs: number | undefined): Policy => {
    let p = jitters.get(maxDelayMs * 1e9 + (maxCanWaitMs ?? 0));
    if (!p) {
      p = createJitterPolicy({
        maxDelayMs,
        ...(maxCanWaitMs === undefined ? {} : { maxCanWaitMs }),
        random: deps.random,
        setTimeout: arm,
        clearTimeout: disarm,
      });
      jitters.set(maxDelayMs * 1e9 + (maxCanWaitMs ?? 0), p);
    }
    return p;
  };

  const { sleep, budgetLeft, waitForSlot } = createShapingWait(shaper, { now: deps.now, arm, disarm });

  /** A slot for a new request: at once, or (Slime-Block) after waiting in line. */
  async function admit(ctx: RequestContext, key: ShapingKey, critical: boolean): Promise<Admitted> {
    // The upstream asked for a pause (Retry-After): a request that cannot wait it out is told so now.
    const held = shaper.holdLeft(key);
    if (held > 0) {
      const left = budgetLeft(ctx);
      if (!ctx.block || (left !== undefined && held > left)) throw shaper.holdRefusal(key);
    }
    const a = shaper.admit(key, { critical });
    if (a.ok) return Object.assign(a.permit, { delayMs: a.delayMs });
    if (!ctx.block) throw a.error;
    // Waiters hold memory and a client socket each: bounded like the dispatcher's queue.
    if (waiting >= maxWaiting)
      throw new HubError('ERR_HUB_QUEUE_FULL', `shaping wait queue is full (${maxWaiting})`, {
        retryAfter: 1,
      });
    const app = ctx.app ?? DEFAULT_APP;
    const appWaiting = waitingByApp.get(app) ?? 0;
    const appLimit = deps.appShare?.(app).maxQueue;
    if (appLimit !== undefined && appWaiting >= appLimit)
      throw new HubError('ERR_HUB_QUEUE_FULL', `wait queue of application "${app}" is full (${appLimit})`, {
        retryAfter: 1,
      });
    waiting++;
    waitingByApp.set(app, appWaiting + 1);
    try {
      return await waitForSlot(ctx, key, critical);
    } finally {
      waiting--;
      const n = (waitingByApp.get(app) ?? 1) - 1;
      if (n > 0) waitingByApp.set(app, n);
      else waitingByApp.delete(app);
    }
  }

  /** Waits out the pacing delay, and any hold the upstream asked for meanwhile (if it can). */
  async function settle(ctx: RequestContext, key: ShapingKey, admitted: Admitted): Promise<void> {
    const { signal } = attemptOf(ctx);
    for (let first = true; !signal.aborted; first = false) {
      const hold = shaper.holdLeft(key);
      const delay = first ? admitted.delayMs : hold;
      if (delay <= 0) break;
      const left = budgetLeft(ctx);
      if (hold > 0 && (!ctx.block || (left !== undefined && hold > left))) {
        admitted.release({ latencyMs: 0, outcome: 'ignore' });
        throw shaper.holdRefusal(key);
      }
      ctx.notes.pacedMs = Number(ctx.notes.pacedMs ?? 0) + delay;
      await sleep(delay, signal);
    }
    if (signal.aborted) {
      admitted.release({ latencyMs: 0, outcome: 'ignore' });
      throw new HubError('ERR_HUB_CLIENT_GONE', 'client went away before dispatch');
    }
  }

  /** Re-sends through the pipeline's downstream; this policy lets the request pass straight on. */
  async function resend(ctx: RequestContext): Promise<void> {
    RESENDING.add(ctx);
    try {
      await ctx.downstream!(ctx, attemptOf(ctx));
    } finally {
      RESENDING.delete(ctx);
    }
  }

  async function run(ctx: RequestContext, next: () => Promise<void>, key: ShapingKey, critical: boolean) {
    const config = shaper.configFor(key);
    const retry = config?.retryThrottled;
    // Only for clients that chose to wait, and only what can be sent again: an idempotent method
    // (unless the rule says otherwise) without a body (the hub keeps no copy of one).
    const mayResend =
      retry !== undefined &&
      ctx.block &&
      ctx.downstream !== undefined &&
      ctx.body === null &&
      (retry.nonIdempotent || IDEMPOTENT.has(ctx.method));
    const honourRetryAfter = config?.upstreamRetryAfter !== false;
    const perAgent = config?.per === 'agent';
    let admitted = await admit(ctx, key, critical);
    let resends = 0;
    // Per-agent groups: the dispatcher takes a slot of the agent it picks, through a gate; the
    // group-level permit above only paced. The sample runs from the assignment, not the queue wait.
    let agentPermit: ShapingPermit | undefined;
    let started = 0;
    const gate = perAgent
      ? shaper.agentGate(key, (p) => {
          agentPermit?.release({ latencyMs: 0, outcome: 'ignore' });
          agentPermit = p;
          started = deps.now();
        })
      : undefined;
    for (;;) {
      await settle(ctx, key, admitted);
      const permit: ShapingPermit = admitted;
      agentPermit = undefined;
      started = deps.now();
      if (gate) {
        permit.release({ latencyMs: 0, outcome: 'ignore' });
        attemptOf(ctx).gate = gate;
      }
      const slot = () => agentPermit ?? (gate ? undefined : permit);
      try {
        await (resends === 0 ? next() : resend(ctx));
      } catch (err) {
        const outcome = err instanceof HubError ? (OUTCOME_OF[err.code] ?? 'ignore') : 'ignore';
        slot()?.release({ latencyMs: deps.now() - started, outcome });
        throw err;
      }
      const latencyMs = deps.now() - started;
      const result = attemptOf(ctx).result;
      const held = slot();
      if (!result || !held) {
        held?.release({ latencyMs, outcome: 'ignore' });
        return;
      }
      const status = result.status;
      let retryAfterMs: number | undefined;
      if (honourRetryAfter && (status === 429 || status === 503)) {
        retryAfterMs = parseRetryAfter(headerValue(result.headers, 'retry-after'));
        if (retryAfterMs !== undefined && retryAfterMs > 0) shaper.hold(key, retryAfterMs);
      }
      // A throttle answer (fast, or one that says when to come back) is a signal for a client
      // that chose to wait, not its result: the request goes back to the head of the line, within
      // its one Slime-Block budget. A slow one took the upstream real work: it is the answer.
      const left = budgetLeft(ctx);
      if (
        mayResend &&
        resends < retry.attempts &&
        !attemptOf(ctx).body.consumed &&
        retry.on.includes(status) &&
        (retryAfterMs !== undefined || shaper.isFastThrottle(key, latencyMs)) &&
        (left === undefined || left > shaper.holdLeft(key))
      ) {
        resends++;
        shaper.retried(key);
        ctx.notes.throttleRetries = resends;
        ctx.log.debug({ status, latencyMs, resend: resends }, 'throttle answer: request re-queued');
        result.body.discard('throttle answer: the request is re-queued');
        delete attemptOf(ctx).result;
        admitted = await waitForSlot(ctx, key, critical, {
          front: true,
          // the answer still teaches the limiter and the pacer
          before: () => held.release({ latencyMs, status }),
        });
        continue;
      }
      const done = () => held.release({ latencyMs, status });
      // The slot frees when the response is over: written (res 'close'), or dropped by fallback.
      const discard = result.body.discard.bind(result.body);
      result.body.discard = (reason) => {
        done();
        discard(reason);
      };
      if (typeof ctx.res?.once === 'function') ctx.res.once('close', done);
      else done();
      return;
    }
  }

  return async function shaping(ctx, next) {
    // A re-send of a request this (or an earlier) shaping policy already admitted: straight on.
    if (RESENDING.has(ctx)) {
      RESENDING.delete(ctx);
      return next();
    }
    const attempt = attemptOf(ctx);
    if (attempt.route.kind !== 'agents') return next();
    const key: ShapingKey = { scope: attempt.scope };
    const config = shaper.configFor(key);
    if (!config) return next();
    const criticality = ctx.req.headers['x-request-criticality'];
    const critical = typeof criticality === 'string' && criticality.trim().toUpperCase() === 'CRITICAL_PLUS';
    if (!config.jitter) return run(ctx, next, key, critical);
    return jitterFor(config.jitter.maxDelayMs, config.jitter.maxCanWaitMs)(ctx, () =>
      run(ctx, next, key, critical),
    );
  };
}
