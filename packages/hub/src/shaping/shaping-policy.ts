import { blockBudgetLeft } from '../dispatch/block-budget.js';
import { HubError } from '../errors.js';
import type { Attempt, Policy, RequestContext } from '../pipeline/context.js';
import { GLOBAL_TIMERS, type Timers } from '../pipeline/timers.js';
import { createJitterPolicy } from './jitter-policy.js';
import type { SampleOutcome } from './limiter-types.js';
import { headerValue, parseRetryAfter } from './retry-after.js';
import type { Shaper, ShapingKey, ShapingPermit } from './shaper.js';

export interface ShapingPolicyDeps {
  now: () => number;
  random: () => number;
  /** Timers for jitter's delay; default the global ones. */
  timers?: Timers;
}

// RFC 9110 §9.2.2: repeating these has the same effect as sending them once.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Requests being re-sent through `ctx.downstream` (shaping + dispatch) after a throttle answer:
 * the shaping slot passes them straight to dispatch, since the policy that re-sends them already
 * gave them their admission. Module-wide, so a shaping section replaced meanwhile honours it too.
 */
const RESENDING = new WeakSet<RequestContext>();

// Failures of the upstream itself teach the limiter; the others (client gone, no agent) do not.
const OUTCOME_OF: Partial<Record<string, SampleOutcome>> = {
  ERR_HUB_UPSTREAM_TIMEOUT: 'timeout',
  ERR_HUB_STREAM_IDLE: 'timeout',
  ERR_HUB_UPSTREAM_ERROR: 'error',
  ERR_HUB_UPSTREAM_UNREACHABLE: 'error',
};

/** The try being shaped: shaping runs in the pipeline's downstream, once per attempt. */
function attemptOf(ctx: RequestContext): Attempt {
  if (!ctx.attempt) throw new HubError('ERR_HUB_INTERNAL', 'shaping runs only inside an attempt');
  return ctx.attempt;
}

/**
 * The shaper as a `(ctx, next)` policy: jitter, then the request goes to dispatch with shaping's
 * admission gate. The dispatcher's queue is where it waits: for a concurrency slot of its group (if
 * it sent Slime-Block; else 503 with Retry-After), for its pacing turn, and for any hold the
 * upstream asked for with Retry-After. The slot is held until the response ends, since the
 * upstream is busy until then; the latency sample runs from when the slot was taken to the head.
 *
 * With `retryThrottled`, a Slime-Block request whose answer is a fast throttle goes back in line at
 * the front of the dispatcher's queue and is sent again through `ctx.downstream` (its `next()`
 * runs only once), at most `attempts` times and within its Slime-Block budget.
 */
export function createShapingPolicy(shaper: Shaper, deps: ShapingPolicyDeps): Policy {
  const timers = deps.timers ?? GLOBAL_TIMERS;
  const jitters = new Map<number, Policy>();
  const jitterFor = (maxDelayMs: number, maxCanWaitMs: number | undefined): Policy => {
    let p = jitters.get(maxDelayMs * 1e9 + (maxCanWaitMs ?? 0));
    if (!p) {
      p = createJitterPolicy({
        maxDelayMs,
        ...(maxCanWaitMs === undefined ? {} : { maxCanWaitMs }),
        random: deps.random,
        setTimeout: timers.set,
        clearTimeout: timers.clear,
      });
      jitters.set(maxDelayMs * 1e9 + (maxCanWaitMs ?? 0), p);
    }
    return p;
  };
  const budgetLeft = (ctx: RequestContext) => blockBudgetLeft(ctx, deps.now());

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
    const attempt = attemptOf(ctx);
    // The slot this try holds (the group's; for per-agent groups, the agent's, which a re-dispatch
    // to another agent hands over) and when it was taken: the sample leaves out the queue wait.
    const slot: { permit: ShapingPermit | undefined; started: number } = { permit: undefined, started: 0 };
    const take = (p: ShapingPermit) => {
      slot.permit?.release({ latencyMs: 0, outcome: 'ignore' });
      slot.permit = p;
      slot.started = deps.now();
    };
    const agentGate = config?.per === 'agent' ? shaper.agentGate(key, take) : undefined;
    const onPaced = (ms: number) => {
      ctx.notes.pacedMs = Number(ctx.notes.pacedMs ?? 0) + ms;
    };
    let resends = 0;
    // A re-queued request's old slot: freed once the re-send is in line (the gate's prepare).
    let requeue: (() => void) | undefined;
    for (;;) {
      slot.permit = undefined as ShapingPermit | undefined;
      const admission = shaper.admission(key, {
        critical,
        block: ctx.block,
        budgetLeft: () => budgetLeft(ctx),
        onPermit: take,
        onPaced,
        ...(requeue ? { requeue } : {}),
      });
      if (admission) attempt.admission = admission;
      if (agentGate) attempt.gate = agentGate;
      try {
        await (resends === 0 ? next() : resend(ctx));
      } catch (err) {
        requeue?.();
        const outcome = err instanceof HubError ? (OUTCOME_OF[err.code] ?? 'ignore') : 'ignore';
        slot.permit?.release({ latencyMs: deps.now() - slot.started, outcome });
        throw err;
      }
      requeue?.();
      const latencyMs = deps.now() - slot.started;
      const result = attempt.result;
      const held = slot.permit;
      if (!result || !held) {
        held?.release({ latencyMs, outcome: 'ignore' });
        return;
      }
      const status = result.status;
      let retryAfterMs: number | undefined;
      if (honourRetryAfter && (status === 429 || status === 503)) {
        retryAfterMs = parseRetryAfter(headerValue(result.headers, 'retry-after'), deps.now());
        if (retryAfterMs !== undefined && retryAfterMs > 0) shaper.hold(key, retryAfterMs);
      }
      // A throttle answer (fast, or one that says when to come back) is a signal for a client
      // that chose to wait, not its result: the request goes back to the head of the line, within
      // its one Slime-Block budget. A slow one took the upstream real work: it is the answer.
      const left = budgetLeft(ctx);
      if (
        mayResend &&
        resends < retry.attempts &&
        !attempt.body.consumed &&
        retry.on.includes(status) &&
        (retryAfterMs !== undefined || shaper.isFastThrottle(key, latencyMs)) &&
        (left === undefined || left > shaper.holdLeft(key))
      ) {
        resends++;
        shaper.retried(key);
        ctx.notes.throttleRetries = resends;
        ctx.log.debug({ status, latencyMs, resend: resends }, 'throttle answer: request re-queued');
        result.body.discard('throttle answer: the request is re-queued');
        delete attempt.result;
        // the answer still teaches the limiter and the pacer
        requeue = () => held.release({ latencyMs, status });
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
