import type { Dispatcher } from '../dispatch/dispatcher.js';
import { compose } from './compose.js';
import type { Policy, RequestContext } from './context.js';
import { accessLog, type RequestObserver } from './policies/access-log.js';
import { appAuth } from './policies/app-auth.js';
import { type BodyByteHooks, dispatchToAgent } from './policies/dispatch.js';
import { errorBoundary } from './policies/error-boundary.js';

export interface PipelineDeps {
  dispatcher: Dispatcher;
  appPassword: string | undefined;
  now: () => number;
  redispatchWaitMs: number;
  observe?: RequestObserver;
  bytes?: BodyByteHooks;
  /** Policies from the policy engine, in the slots below (each may be empty). */
  access?: Policy[];
  rateLimits?: Policy[];
  router?: Policy[];
  fallback?: Policy[];
  shaping?: Policy[];
}

/**
 * The order every application request goes through. This file is the one place to read it:
 *
 *   error boundary -> access log/metrics -> app auth -> access rules -> rate limits
 *   -> router -> fallback -> shaping -> dispatch to an agent
 */
export function buildPipeline(deps: PipelineDeps): (ctx: RequestContext) => Promise<void> {
  return compose([
    errorBoundary(),
    accessLog(deps.observe ? { now: deps.now, observe: deps.observe } : { now: deps.now }),
    appAuth({ appPassword: deps.appPassword }),
    ...(deps.access ?? []),
    ...(deps.rateLimits ?? []),
    ...(deps.router ?? []),
    ...(deps.fallback ?? []),
    ...(deps.shaping ?? []),
    dispatchToAgent({
      dispatcher: deps.dispatcher,
      redispatchWaitMs: deps.redispatchWaitMs,
      bytes: deps.bytes,
    }),
  ]);
}
