import type { Dispatcher as UndiciDispatcher } from 'undici';
import type { OpenStreamRequest } from '../../agents/connection-types.js';
import { blockBudgetLeft } from '../../dispatch/block-budget.js';
import type { DispatchAgent, DispatchedStream, Dispatcher } from '../../dispatch/dispatcher.js';
import type { OutlierDetector } from '../../dispatch/outlier-ejection.js';
import { HubError } from '../../errors.js';
import { writeInterim } from '../../http/write-response.js';
import { forwardToUrl } from '../../routing/forward-to-url.js';
import { StreamRefusedError, UpstreamConnectError } from '../../streams/reset-errors.js';
import { DONE } from '../compose.js';
import type { Policy } from '../context.js';
import { type Deadline, Deadlines } from '../deadlines.js';
import { GLOBAL_TIMERS, type Timers } from '../timers.js';

const ONCE = { once: true } as const;

// An agent lost before answering: try again this many times before giving up with 502.
const MAX_REDISPATCH = 5;

// What an agent's upstream answered for it as a gateway (they count toward its outlier score).
const GATEWAY_ERRORS: ReadonlySet<string> = new Set([
  'ERR_HUB_UPSTREAM_UNREACHABLE',
  'ERR_HUB_UPSTREAM_ERROR',
  'ERR_HUB_UPSTREAM_TIMEOUT',
]);

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
  /** Scores each agent's answers for passive outlier ejection. */
  outliers?: OutlierDetector | undefined;
  urlDispatcher?: UndiciDispatcher;
  /** Timers for the deadline to the response head; default the global ones. */
  timers?: Timers;
}): Policy {
  const { dispatcher, redispatchWaitMs, urlDispatcher, outliers } = options;
  const now = options.now ?? Date.now;
  // one timer per deadline length rather than a setTimeout per request (the default is 60 s)
  const deadlines = new Deadlines(options.timers ?? GLOBAL_TIMERS, now);
  return async function dispatchToAgent(ctx, next) {
    const attempt = ctx.attempt;
    if (!attempt) throw new HubError('ERR_HUB_INTERNAL', 'dispatch ran outside an attempt');
    const deadline = ctx.requestTimeoutMs ?? options.requestTimeoutMs ?? 0;
    const { route } = attempt;
    // what a client leaving looks like to this try (no AbortSignal is made unless a policy asked)
    const signal = attempt.gone;
    if (route.kind === 'url') {
      if (ctx.upgrade) {
        throw new HubError('ERR_HUB_UPGRADE_UNSUPPORTED', 'upgraded streams are carried to agents only');
      }
      ctx.notes.endpoint = new URL(route.url).origin;
      attempt.result = await forwardToUrl(ctx.method, attempt, route.url, {
        dispatcher: urlDispatcher,
        ...(deadline > 0 ? { headersTimeoutMs: deadline } : {}),
      });
      const after = next();
      if (after !== DONE) await after;
      return;
    }
    const { scope, body } = attempt;
    // An upgrade goes only to agents that carry one (protocol 3) and have room for it.
    const gate = ctx.upgrade ? ctx.upgrade.gate(attempt.gate, scope, ctx.path, ctx.block) : attempt.gate;
    let refusals = 0;
    // Agents that could not reach their upstream for this request: it never goes back to them.
    let unreachable: Set<DispatchAgent> | undefined;
    let lastConnectError: UpstreamConnectError | undefined;
    for (let n = 0; ; n++) {
      const retry = n > 0;
      // After a connect failure the request waits only as the client asked: with no other healthy
      // agent, a client without Slime-Block gets 503 at once (not a 502).
      const redispatchAfterLoss = retry && lastConnectError === undefined;
      let chosen: DispatchAgent | undefined;
      let stream: DispatchedStream;
      const queuedAt = now();
      let handedAt = queuedAt;
      try {
        // every field set, absent ones undefined: one shape for every ticket, and no temporary
        // objects for conditional spreads
        const opened = dispatcher.dispatchNow({
          scope,
          path: ctx.path,
          // A request re-dispatched after an agent loss was admitted once: it waits, boundedly.
          block: ctx.block || redispatchAfterLoss,
          // one budget for the whole wait: shaping, refusals and re-dispatches do not restart it
          timeoutMs: redispatchAfterLoss && !ctx.block ? redispatchWaitMs : blockBudgetLeft(ctx, queuedAt),
          signal,
          front: retry,
          gate,
          admission: attempt.admission,
          app: ctx.app,
          priority: ctx.priority,
          exclude: unreachable,
          open: (agent: DispatchAgent) => {
            chosen = agent;
            handedAt = now();
            // time in the dispatcher's queue, summed over re-dispatches (tracing reads it)
            ctx.notes.queueWaitMs = Number(ctx.notes.queueWaitMs ?? 0) + (handedAt - queuedAt);
            const request: OpenStreamRequest = {
              method: ctx.method,
              target: attempt.target,
              headers: attempt.headers,
              // the attempt's body: the stream reports what was read and gives back what was not
              body: body.stream ? body : null,
              onInterim: (status, headers) => writeInterim(ctx.res, status, headers),
              req: ctx.req,
            };
            if (ctx.upgrade) request.upgrade = ctx.upgrade;
            return agent.openStream(request);
          },
        });
        // an agent free now (the common case) costs no await
        stream = opened instanceof Promise ? await opened : opened;
      } catch (err) {
        if (lastConnectError && err instanceof HubError && err.code === 'ERR_HUB_NO_AGENT') {
          throw new HubError(
            'ERR_HUB_NO_AGENT',
            'no healthy agent: the agents tried could not reach their upstream',
            {
              retryAfter: 1,
              cause: lastConnectError,
            },
          );
        }
        throw err;
      }
      const agent = chosen!;
      // A client that leaves before the response head must stop the upstream work too.
      const cancel = () => stream.cancel('client went away');
      if (signal.aborted) cancel();
      else signal.addEventListener('abort', cancel, ONCE);
      // The deadline runs from the hand-over: time in the queue is Slime-Block-Timeout's business.
      const timer: Deadline | undefined =
        deadline > 0 ? deadlines.set(deadline, handedAt, () => stream.expire(deadline)) : undefined;
      try {
        attempt.result = await stream.response;
        timer?.cancel();
        outliers?.record(agent.id, attempt.result.status >= 500 ? '5xx' : 'ok');
        ctx.notes.attempts = n + 1;
        break;
      } catch (err) {
        timer?.cancel();
        signal.removeEventListener('abort', cancel);
        // A full agent (slots shared with other hubs) handed it back untouched (the body too):
        // not a failed attempt.
        if (err instanceof StreamRefusedError && !body.consumed) {
          refusals++;
          ctx.log.debug({ refusals, err: err.message }, 're-dispatching a request an agent refused');
          continue;
        }
        if (err instanceof UpstreamConnectError) {
          outliers?.record(agent.id, 'connect-error');
          if (!body.consumed && n - refusals < MAX_REDISPATCH) {
            lastConnectError = err;
            unreachable ??= new Set();
            unreachable.add(agent);
            ctx.log.warn({ attempt: n + 1, err: err.message }, 'upstream unreachable; trying another agent');
            continue;
          }
        } else if (err instanceof HubError && GATEWAY_ERRORS.has(err.code)) {
          outliers?.record(agent.id, '5xx');
        }
        if (err instanceof HubError && err.retryable && !body.consumed && n - refusals < MAX_REDISPATCH) {
          ctx.log.warn(
            { attempt: n + 1, err: err.message },
            're-dispatching a request its agent never served',
          );
          continue;
        }
        throw err;
      }
    }
    // the last step of the chain (nothing after dispatch) costs no await
    const after = next();
    if (after !== DONE) await after;
  };
}
