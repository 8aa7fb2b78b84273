import type { Readable } from 'node:stream';
import type { HeaderList } from '@slime/protocol';
import type { Attempt, AttemptBody, RequestContext, RouteTarget } from './context.js';

/** What a try changes from the request; anything left out is the request's own. */
export interface AttemptInit {
  index?: number;
  route?: RouteTarget;
  /** Given explicitly with `route`: an endpoint without a scope means any agent. */
  scope?: string | undefined;
  target?: string;
  headers?: HeaderList;
  body?: Readable | null;
  signal?: AbortSignal;
}

/** A body that knows whether it was read; an agent that did not read it hands it back. */
export function createAttemptBody(initial: Readable | null): AttemptBody {
  let stream = initial;
  let consumed = false;
  return {
    get stream() {
      return stream;
    },
    get consumed() {
      return consumed;
    },
    read(bytes) {
      if (bytes >= 0) consumed = true;
    },
    handBack(returned) {
      stream = returned;
    },
  };
}

/** A fresh try of `ctx`: the request as it stands, with what `init` overrides. */
export function createAttempt(ctx: RequestContext, init: AttemptInit = {}): Attempt {
  const route = init.route ?? ctx.route;
  const scope =
    'scope' in init ? init.scope : route.kind === 'agents' ? (route.scope ?? ctx.scope) : ctx.scope;
  return {
    index: init.index ?? 0,
    route,
    scope,
    target: init.target ?? ctx.target,
    headers: [...(init.headers ?? ctx.upstreamHeaders)],
    // the request's AbortSignal is made only if a policy reads it (most requests: none)
    get signal() {
      return init.signal ?? ctx.signal;
    },
    get gone() {
      return init.signal ?? ctx.abortLike ?? ctx.signal;
    },
    body: createAttemptBody(init.body === undefined ? ctx.body : init.body),
  };
}
