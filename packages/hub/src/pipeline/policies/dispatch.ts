import type { Dispatcher as UndiciDispatcher } from 'undici';
import type { AgentConnection } from '../../agents/agent-connection.js';
import type { Dispatcher } from '../../dispatch/dispatcher.js';
import { HubError } from '../../errors.js';
import { writeInterim } from '../../http/write-response.js';
import { forwardToUrl } from '../../routing/forward-to-url.js';
import { StreamRefusedError } from '../../streams/reset-errors.js';
import type { Policy, RequestContext } from '../context.js';

/** Body byte counters (bandwidth rate limits). */
export interface BodyByteHooks {
  request(ctx: RequestContext, bytes: number): void;
  response(ctx: RequestContext, bytes: number): void;
}

// An agent lost before answering: try again this many times before giving up with 502.
const MAX_REDISPATCH = 5;

/**
 * The terminal policy: hands the request to an agent and waits for the response head. A request
 * that never reached an upstream (agent lost before the head, nothing of its body read) goes back
 * to the front of the queue; anything else is delivered at most once. A URL route (chosen by the
 * router or a fallback endpoint) is forwarded with undici instead.
 */
export function dispatchToAgent(options: {
  dispatcher: Dispatcher;
  /** The hub's clock; Slime-Block-Timeout counts from the request's arrival. */
  now?: () => number;
  redispatchWaitMs: number;
  /** The hub's default request deadline (to the response head, per attempt); 0 = none. */
  requestTimeoutMs?: number;
  bytes?: BodyByteHooks | undefined;
  urlDispatcher?: UndiciDispatcher;
}): Policy {
  const { dispatcher, redispatchWaitMs, bytes, urlDispatcher } = options;
  const now = options.now ?? Date.now;
  // One budget for the whole wait: shaping, refusals and re-dispatches do not restart it.
  const blockLeft = (ctx: RequestContext) =>
    ctx.blockTimeoutMs === undefined ? undefined : Math.max(0, ctx.startedAt + ctx.blockTimeoutMs - now());
  // Fallback replays the body to later tries; bandwidth limits charge it once.
  const chargeRequest = (ctx: RequestContext, n: number) => {
    if (!ctx.attempt) bytes?.request(ctx, n);
  };
  return async function dispatchToAgent(ctx, next) {
    const deadline = ctx.requestTimeoutMs ?? options.requestTimeoutMs ?? 0;
    if (ctx.route.kind === 'url') {
      ctx.notes.endpoint = new URL(ctx.route.url).origin;
      ctx.result = await forwardToUrl(ctx, ctx.route.url, {
        dispatcher: urlDispatcher,
        ...(deadline > 0 ? { headersTimeoutMs: deadline } : {}),
        onBodyRead: (n) => chargeRequest(ctx, n),
        onResponseBytes: bytes ? (n) => bytes.response(ctx, n) : undefined,
      });
      return next();
    }
    const scope = ctx.route.scope ?? ctx.scope;
    let refusals = 0;
    for (let attempt = 0; ; attempt++) {
      const retry = attempt > 0;
      const stream = await dispatcher.dispatch({
        scope,
        path: ctx.path,
        // A re-dispatched request was admitted once: it waits for another agent, boundedly.
        block: ctx.block || retry,
        timeoutMs: retry && !ctx.block ? redispatchWaitMs : blockLeft(ctx),
        signal: ctx.signal,
        front: retry,
        ...(ctx.agentGate ? { gate: ctx.agentGate } : {}),
        open: (agent: AgentConnection) =>
          agent.openStream({
            method: ctx.method,
            target: ctx.target,
            headers: ctx.upstreamHeaders,
            body: ctx.body,
            onBodyRead: (n: number) => {
              ctx.bodyConsumed = true;
              chargeRequest(ctx, n);
            },
            ...(bytes ? { onResponseBytes: (n: number) => bytes.response(ctx, n) } : {}),
            onInterim: (status, headers) => writeInterim(ctx.res, status, headers),
          }),
      });
      // A client that leaves before the response head must stop the upstream work too.
      const cancel = () => stream.cancel('client went away');
      if (ctx.signal.aborted) cancel();
      else ctx.signal.addEventListener('abort', cancel, { once: true });
      // The deadline runs from the hand-over: time in the queue is Slime-Block-Timeout's business.
      const timer = deadline > 0 ? setTimeout(() => stream.expire(deadline), deadline) : undefined;
      try {
        ctx.result = await stream.response;
        clearTimeout(timer);
        ctx.notes.attempts = attempt + 1;
        break;
      } catch (err) {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', cancel);
        // A full agent (slots shared with other hubs) handed it back untouched: not a failed attempt.
        if (err instanceof StreamRefusedError && !ctx.bodyConsumed) {
          refusals++;
          ctx.body = err.body;
          ctx.log.debug({ refusals, err: err.message }, 're-dispatching a request an agent refused');
          continue;
        }
        if (
          err instanceof HubError &&
          err.retryable &&
          !ctx.bodyConsumed &&
          attempt - refusals < MAX_REDISPATCH
        ) {
          ctx.log.warn(
            { attempt: attempt + 1, err: err.message },
            're-dispatching a request its agent never served',
          );
          continue;
        }
        throw err;
      }
    }
    await next();
  };
}
