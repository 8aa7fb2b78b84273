import type { Readable } from 'node:stream';
import type { HeaderList } from '@slime/protocol';
import type { Attempt, AttemptBody, RequestContext, RouteTarget } from './context.js';
import type { AbortLike } from './request-abort.js';

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

/** A body that knows whether it was read (a class, not a literal with getters: see RequestAttempt). */
class TrackedBody implements AttemptBody {
  #stream: Readable | null;
  #consumed = false;

  constructor(stream: Readable | null) {
    this.#stream = stream;
  }

  get stream(): Readable | null {
    return this.#stream;
  }

  get consumed(): boolean {
    return this.#consumed;
  }

  read(bytes: number): void {
    if (bytes >= 0) this.#consumed = true;
  }

  handBack(returned: Readable | null): void {
    this.#stream = returned;
  }
}

/** A body that knows whether it was read; an agent that did not read it hands it back. */
export function createAttemptBody(initial: Readable | null): AttemptBody {
  return new TrackedBody(initial);
}

/**
 * One try as a class: one hidden class for every attempt and its accessors on the prototype. The
 * object literal with getters it replaces got a hidden class of its own per request (a getter is a
 * new closure each time); hidden classes live in the old generation, so their getters kept the
 * whole request (context, sockets' messages, stream, headers) alive through every young-generation
 * GC until a full one: ~8 KB per request promoted, and GC was ~16 µs of the hub's ~80 µs per small
 * request. Avoid per-call object literals with `get`/`set` on hot paths. Optional fields are
 * `declare`d so that an absent one stays absent.
 */
class RequestAttempt implements Attempt {
  readonly index: number;
  readonly route: RouteTarget;
  readonly scope: string | undefined;
  readonly target: string;
  readonly headers: HeaderList;
  readonly body: AttemptBody;
  declare gate?: NonNullable<Attempt['gate']>;
  declare admission?: NonNullable<Attempt['admission']>;
  declare result?: NonNullable<Attempt['result']>;
  readonly #ctx: RequestContext;
  readonly #signal: AbortSignal | undefined;

  constructor(ctx: RequestContext, init: AttemptInit) {
    const route = init.route ?? ctx.route;
    this.index = init.index ?? 0;
    this.route = route;
    this.scope =
      'scope' in init ? init.scope : route.kind === 'agents' ? (route.scope ?? ctx.scope) : ctx.scope;
    this.target = init.target ?? ctx.target;
    this.headers = (init.headers ?? ctx.upstreamHeaders).slice();
    this.body = new TrackedBody(init.body === undefined ? ctx.body : init.body);
    this.#ctx = ctx;
    this.#signal = init.signal;
  }

  // the request's AbortSignal is made only if a policy reads it (most requests: none)
  get signal(): AbortSignal {
    return this.#signal ?? this.#ctx.signal;
  }

  get gone(): AbortLike {
    return this.#signal ?? this.#ctx.abortLike ?? this.#ctx.signal;
  }
}

const NO_INIT: AttemptInit = {};

/** A fresh try of `ctx`: the request as it stands, with what `init` overrides. */
export function createAttempt(ctx: RequestContext, init: AttemptInit = NO_INIT): Attempt {
  return new RequestAttempt(ctx, init);
}
