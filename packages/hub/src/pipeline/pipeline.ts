import type { Logger } from 'pino';
import type { Dispatcher as UndiciDispatcher } from 'undici';
import type { AppDirectory } from '../apps/app-directory.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import type { OutlierDetector } from '../dispatch/outlier-ejection.js';
import { HubError } from '../errors.js';
import { createAttempt } from './attempt.js';
import { compose } from './compose.js';
import type { Attempt, Downstream, Policy, ProxyResponse, RequestContext } from './context.js';
import { accessLog, type RequestObserver } from './policies/access-log.js';
import { appAuth } from './policies/app-auth.js';
import { dispatchToAgent } from './policies/dispatch.js';
import { errorBoundary } from './policies/error-boundary.js';
import type { Timers } from './timers.js';

export interface PipelineDeps {
  dispatcher: Dispatcher;
  appPassword: string | undefined;
  /** The applications in force (keys, priority ceilings); default none. */
  apps?: () => AppDirectory;
  now: () => number;
  /** Where access lines go (one per request); default each request's own logger. */
  accessLogger?: Logger;
  redispatchWaitMs: number;
  /** Default time from hand-over to an agent to the response head; 0 = none. */
  requestTimeoutMs?: number;
  outliers?: OutlierDetector;
  observe?: RequestObserver;
  /** Policies from the policy engine, in the slots below (each may be empty). */
  access?: Policy[];
  rateLimits?: Policy[];
  router?: Policy[];
  fallback?: Policy[];
  shaping?: Policy[];
  /** Connection pools for URL routes (router/fallback endpoints). Default: undici's global one. */
  urlDispatcher?: UndiciDispatcher;
  /** Timers for the per-try deadline; default the global ones. */
  timers?: Timers;
}

function resultOf(attempt: Attempt): ProxyResponse {
  if (!attempt.result) throw new HubError('ERR_HUB_INTERNAL', 'dispatch produced no response');
  return attempt.result;
}

/**
 * The order every application request goes through. This file is the one place to read it:
 *
 *   error boundary -> access log/metrics -> app auth -> access rules -> rate limits
 *   -> router -> fallback -> shaping -> dispatch (to an agent, or to a URL the router chose)
 *
 * "shaping -> dispatch" is the *downstream*: it serves one Attempt (route, target, headers, body
 * and signal of one try) and resolves with that try's response head. It is put on the context
 * (`ctx.downstream`) just before the fallback slot. The pipeline's last step runs it once with the
 * first attempt, made from the request; the fallback policy is a retry interceptor: it calls the
 * downstream itself with a fresh attempt per endpoint, and never rewrites the request. So every
 * try goes through shaping (agent routes only) and dispatch, while auth, access rules and rate
 * limits run once per application request (a fallback counts once against rate limits).
 */
export function buildPipeline(deps: PipelineDeps): (ctx: RequestContext) => Promise<void> {
  const chain = compose([
    ...(deps.shaping ?? []),
    dispatchToAgent({
      dispatcher: deps.dispatcher,
      now: deps.now,
      redispatchWaitMs: deps.redispatchWaitMs,
      requestTimeoutMs: deps.requestTimeoutMs ?? 0,
      outliers: deps.outliers,
      ...(deps.urlDispatcher ? { urlDispatcher: deps.urlDispatcher } : {}),
      ...(deps.timers ? { timers: deps.timers } : {}),
    }),
  ]);
  // Promise chains rather than async functions: each async frame here cost a promise, a generator
  // and a microtask per request, for steps that only pass the result on.
  const downstream: Downstream = (ctx, attempt) => {
    ctx.attempt = attempt;
    return chain(ctx).then(() => resultOf(attempt));
  };
  return compose([
    errorBoundary(),
    accessLog({
      now: deps.now,
      ...(deps.observe ? { observe: deps.observe } : {}),
      ...(deps.accessLogger ? { logger: deps.accessLogger } : {}),
    }),
    appAuth({ appPassword: deps.appPassword, apps: deps.apps }),
    ...(deps.access ?? []),
    ...(deps.rateLimits ?? []),
    ...(deps.router ?? []),
    function provideDownstream(ctx, next) {
      ctx.downstream = downstream;
      return next();
    },
    ...(deps.fallback ?? []),
    function serve(ctx) {
      const attempt = createAttempt(ctx);
      ctx.attempt = attempt;
      return chain(ctx).then(() => {
        ctx.result = resultOf(attempt);
      });
    },
  ]);
}
