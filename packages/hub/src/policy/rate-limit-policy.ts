import type { Logger } from 'pino';
import { HubError } from '../errors.js';
import type { Policy, RequestContext } from '../pipeline/context.js';
import { countReads } from '../streams/count-reads.js';
import { createInFlight } from './concurrency.js';
import { applicable, type CompiledRateRule, contentLength, limitSpec, retryAfterMs } from './rate-limit.js';
import { rateLimitHeaders } from './ratelimit-headers.js';
import { viewOf } from './request-view.js';
import type { CounterStore, LimitSpec } from './store.js';

export interface RateLimitPolicyDeps {
  /** The rules in force, read on every request (the engine swaps them on update). */
  rates: () => readonly CompiledRateRule[];
  store: CounterStore;
  now: () => number;
  log?: Logger | undefined;
}

export interface RateLimiting {
  readonly policy: Policy;
  /** Charges body bytes to the byte-counting rules the request passed. */
  chargeBytes(ctx: RequestContext, n: number, request: boolean): void;
  /** Frees the request's concurrency slots now (idempotent). */
  release(ctx: RequestContext): void;
}

interface Tracked {
  readonly byteSpecs: readonly LimitSpec[];
  readonly requestBytesKnown: boolean;
  readonly release: () => void;
}

/** The rate-limit policy: concurrency slots, counters in the store, RateLimit headers, byte charges. */
export function createRateLimiting(deps: RateLimitPolicyDeps): RateLimiting {
  const { store, now, log } = deps;
  const inFlight = createInFlight();
  const trackedOf = (ctx: RequestContext) => ctx.rateLimitHold as Tracked | undefined;

  const rateLimitPolicy: Policy = async function rateLimits(ctx, next) {
    const applied = applicable(deps.rates(), viewOf(ctx));
    if (applied.length === 0) return next();
    const held: string[] = [];
    for (const a of applied) {
      if (a.rule.concurrency === undefined) continue;
      if (!inFlight.tryAcquire(a.id, a.rule.concurrency)) {
        for (const id of held) inFlight.release(id);
        ctx.notes.rateLimit = a.rule.name;
        throw new HubError('ERR_HUB_OVERLOADED', 'too many requests in flight', { retryAfter: 1 });
      }
      held.push(a.id);
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      for (const id of held) inFlight.release(id);
    };
    // A slot is held until the response has been written (or the client left), which happens
    // after this policy returns; the listener goes on first so no 'close' is missed.
    if (held.length > 0) ctx.res.once('close', release);
    let passed = false;
    try {
      const counted = applied.filter((a) => a.rule.limit !== undefined);
      const known = contentLength(ctx);
      const specs = counted.map((a) => limitSpec(a, known ?? 0));
      if (specs.length > 0) {
        const result = await store.checkAndCharge(specs, now());
        const headers = rateLimitHeaders(counted.map((a, i) => ({ rule: a.rule, state: result.limits[i]! })));
        if (!result.admitted) {
          ctx.notes.rateLimit = counted
            .filter((_, i) => !result.limits[i]!.allowed)
            .map((a) => a.rule.name)
            .join(',');
          throw new HubError('ERR_HUB_RATE_LIMITED', 'rate limit exceeded', {
            retryAfter: retryAfterMs(counted, result.limits) / 1000,
            ...(headers ? { headers } : {}),
          });
        }
        if (headers) Object.assign(ctx.responseHeaders, headers);
      }
      const byteSpecs = specs.filter((_, i) => counted[i]!.rule.bytes);
      // only what chargeBytes or release(ctx) will need
      if (byteSpecs.length > 0 || held.length > 0) {
        ctx.rateLimitHold = { byteSpecs, requestBytesKnown: known !== undefined, release } satisfies Tracked;
      }
      // Bandwidth rules count body bytes at the hub's edges: as the client's body is read, and
      // as the response is written to the client.
      const countBytes = byteSpecs.length > 0;
      if (countBytes && known === undefined && ctx.body) {
        countReads(ctx.body, (n) => chargeBytes(ctx, n, true));
      }
      await next();
      if (countBytes) ctx.result?.body.countBytes?.((n) => chargeBytes(ctx, n, false));
      passed = true;
    } finally {
      // the stand-in: reading ctx.signal would make an AbortController for every request
      if (!passed || (ctx.abortLike ?? ctx.signal).aborted) release();
    }
  };

  const chargeBytes = (ctx: RequestContext, n: number, request: boolean) => {
    const t = trackedOf(ctx);
    if (!t || t.byteSpecs.length === 0 || !(n > 0)) return;
    if (request && t.requestBytesKnown) return;
    store
      .charge(t.byteSpecs, n, now())
      .catch((err: unknown) => log?.warn({ err }, 'rate-limit store charge failed'));
  };

  return { policy: rateLimitPolicy, chargeBytes, release: (ctx) => trackedOf(ctx)?.release() };
}
