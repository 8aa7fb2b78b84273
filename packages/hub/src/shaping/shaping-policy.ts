import { HubError } from '../errors.js';
import type { Policy, RequestContext } from '../pipeline/context.js';
import { createJitterPolicy } from './jitter-policy.js';
import type { SampleOutcome } from './limiter-types.js';
import type { Shaper, ShapingKey, ShapingPermit } from './shaper.js';

export interface ShapingPolicyDeps {
  now: () => number;
  random: () => number;
  /** Most requests waiting for a shaping slot at once (the hub's --max-queue). Default 10000. */
  maxWaiting?: number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: never) => void;
}

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
 * the pacing delay, then dispatch. The slot is held until the response ends, since the upstream is
 * busy until then; the latency sample is the time to the response head.
 */
export function createShapingPolicy(shaper: Shaper, deps: ShapingPolicyDeps): Policy {
  const arm = deps.setTimeout ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
  const disarm = (deps.clearTimeout ?? clearTimeout) as (handle: unknown) => void;
  const maxWaiting = deps.maxWaiting ?? 10_000;
  if (!Number.isInteger(maxWaiting) || maxWaiting < 1)
    throw new RangeError('maxWaiting must be an integer >= 1');
  let waiting = 0;
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

  const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const onAbort = () => {
        disarm(handle);
        resolve();
      };
      const handle = arm(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });

  /** Waits for a slot, FIFO among this policy's waiters, woken by the limiter (no polling). */
  const waitForSlot = (ctx: RequestContext, key: ShapingKey, critical: boolean) =>
    new Promise<ShapingPermit & { delayMs: number }>((resolve, reject) => {
      let timer: unknown;
      const finish = (err?: HubError, admitted?: ShapingPermit & { delayMs: number }) => {
        off();
        ctx.signal.removeEventListener('abort', onAbort);
        if (timer !== undefined) disarm(timer);
        if (err) reject(err);
        else resolve(admitted!);
      };
      const off = shaper.onAvailable(key, () => {
        const a = shaper.admit(key, { critical });
        if (a.ok) finish(undefined, Object.assign(a.permit, { delayMs: a.delayMs }));
      });
      const onAbort = () =>
        finish(new HubError('ERR_HUB_CLIENT_GONE', 'client went away while waiting for a slot'));
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      if (ctx.blockTimeoutMs !== undefined) {
        timer = arm(
          () =>
            finish(
              new HubError('ERR_HUB_BLOCK_TIMEOUT', `no shaping slot within ${ctx.blockTimeoutMs} ms`, {
                retryAfter: 1,
              }),
            ),
          // the budget counts from the request's arrival (jitter already spent part of it)
          Math.max(0, ctx.startedAt + ctx.blockTimeoutMs - deps.now()),
        );
      }
    });

  async function run(ctx: RequestContext, next: () => Promise<void>, key: ShapingKey, critical: boolean) {
    let admitted: ShapingPermit & { delayMs: number };
    const a = shaper.admit(key, { critical });
    if (a.ok) admitted = Object.assign(a.permit, { delayMs: a.delayMs });
    else if (!ctx.block) throw a.error;
    else {
      // Waiters hold memory and a client socket each: bounded like the dispatcher's queue.
      if (waiting >= maxWaiting)
        throw new HubError('ERR_HUB_QUEUE_FULL', `shaping wait queue is full (${maxWaiting})`, {
          retryAfter: 1,
        });
      waiting++;
      try {
        admitted = await waitForSlot(ctx, key, critical);
      } finally {
        waiting--;
      }
    }
    const permit: ShapingPermit = admitted;
    if (admitted.delayMs > 0) {
      ctx.notes.pacedMs = admitted.delayMs;
      await sleep(admitted.delayMs, ctx.signal);
    }
    if (ctx.signal.aborted) {
      permit.release({ latencyMs: 0, outcome: 'ignore' });
      throw new HubError('ERR_HUB_CLIENT_GONE', 'client went away before dispatch');
    }
    const perAgent = shaper.configFor(key)?.per === 'agent';
    // Per-agent groups: the dispatcher takes a slot of the agent it picks, through a gate; the
    // group-level permit above only paced. The sample runs from the assignment, not the queue wait.
    let agentPermit: ShapingPermit | undefined;
    let started = deps.now();
    const gate = perAgent
      ? shaper.agentGate(key, (p) => {
          agentPermit?.release({ latencyMs: 0, outcome: 'ignore' });
          agentPermit = p;
          started = deps.now();
        })
      : undefined;
    if (gate) {
      permit.release({ latencyMs: 0, outcome: 'ignore' });
      ctx.agentGate = gate;
    }
    const slot = () => agentPermit ?? (gate ? undefined : permit);
    try {
      await next();
    } catch (err) {
      const outcome = err instanceof HubError ? (OUTCOME_OF[err.code] ?? 'ignore') : 'ignore';
      slot()?.release({ latencyMs: deps.now() - started, outcome });
      throw err;
    }
    const latencyMs = deps.now() - started;
    const result = ctx.result;
    const held = slot();
    if (!result || !held) {
      held?.release({ latencyMs, outcome: 'ignore' });
      return;
    }
    const done = () => held.release({ latencyMs, status: result.status });
    // The slot frees when the response is over: written (res 'close'), or dropped by fallback.
    const discard = result.body.discard.bind(result.body);
    result.body.discard = (reason) => {
      done();
      discard(reason);
    };
    if (typeof ctx.res?.once === 'function') ctx.res.once('close', done);
    else done();
  }

  return async function shaping(ctx, next) {
    if (ctx.route.kind !== 'agents') return next();
    const key: ShapingKey = { scope: ctx.route.scope ?? ctx.scope };
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
