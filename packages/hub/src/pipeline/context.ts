import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { HeaderList } from '@slime/protocol';
import type { Logger } from 'pino';
import type { Priority } from '../apps/app-types.js';
import type { AdmissionGate } from '../dispatch/admission-gate.js';
import type { AgentGate } from '../dispatch/agent-gate.js';
import type { ClientUpgrade } from '../upgrade/upgrade-types.js';
import type { AbortLike } from './request-abort.js';

/**
 * Where a request is to be served: a group of agents (a scope), or an external URL. A URL comes
 * only from the policy (router or fallback), never from the request.
 */
export type RouteTarget = { kind: 'agents'; scope?: string } | { kind: 'url'; url: string };

/**
 * A response ready to be written to the client. The body is not read yet, so a policy (fallback,
 * shaping) can look at the status and decide to discard it and try elsewhere.
 */
export interface ProxyResponse {
  status: number;
  headers: HeaderList;
  /** The agent that served it, for Slime-Agent-Id; empty for URL endpoints (their origin is in notes). */
  servedBy: string;
  body: ResponseBody;
}

export interface ResponseBody {
  /** Streams the body into `res` honouring its backpressure; resolves when the body ended. */
  pipe(res: ServerResponse): Promise<void>;
  /** Drops the body and frees whatever holds it (RESET to the agent, abort the socket). */
  discard(reason: string): void;
  /** Reads at most `limit` bytes of body into memory (for fallback decisions); throws beyond it. */
  readAll(limit: number): Promise<Uint8Array>;
  /** Set when the body already failed before anything was written (the head can still be an error). */
  readonly failure?: Error | null;
  /**
   * Calls `onBytes` for each chunk of body written to the client (bandwidth limits count at this
   * edge). Bodies that never reach the client as bytes (an upgrade's tunnel) leave it out.
   */
  countBytes?(onBytes: (bytes: number) => void): void;
}

/**
 * One try of a request: where it goes and what is sent there. The pipeline makes the first one
 * from the request; fallback (a retry interceptor) makes a fresh one for each endpoint it tries,
 * so no try ever rewrites the request or another try.
 */
export interface Attempt {
  /** 0 for the first try; fallback tries count up. Request bytes are charged on try 0 only. */
  readonly index: number;
  /** Where this try goes. */
  readonly route: RouteTarget;
  /** The scope its agent is picked from (agent routes). */
  readonly scope: string | undefined;
  /** Path and query sent upstream. */
  readonly target: string;
  /** Headers sent upstream: this try's own list (tracing sets its traceparent in it). */
  readonly headers: HeaderList;
  /** Aborted when the client leaves or this try's own deadline passes (made on first use). */
  readonly signal: AbortSignal;
  /** What dispatch listens on: this try's own signal when it has one, else the request's stand-in. */
  readonly gone: AbortLike;
  /** This try's request body. */
  readonly body: AttemptBody;
  /** Per-agent shaping: which agents may take this try (set by the shaping policy). */
  gate?: AgentGate;
  /** Shaping's admission (group limit, pacing, holds): the dispatcher asks it before an agent is given. */
  admission?: AdmissionGate;
  /** The response head this try got: its outcome. */
  result?: ProxyResponse;
}

/** A try's request body, and whether any of it was read (then the try cannot go elsewhere). */
export interface AttemptBody {
  /** The stream to send; null when the request has none. */
  readonly stream: Readable | null;
  /** Whether the upstream side read any byte of it. */
  readonly consumed: boolean;
  /** Called by whoever sends the body, per chunk read. */
  read(bytes: number): void;
  /** An agent gave the body back unread (refused, or could not connect): send this next time. */
  handBack(stream: Readable | null): void;
}

/**
 * Shaping + dispatch for one attempt (the part fallback and shaping may run again). Resolves
 * with the attempt's response head; `ctx.attempt` is the attempt while it runs.
 */
export type Downstream = (ctx: RequestContext, attempt: Attempt) => Promise<ProxyResponse>;

/**
 * Per-request state every policy sees. Created once per application request by the hub. What
 * the client sent is fixed at creation; the front policies establish who sent it (client address,
 * application, priority) and where it goes (route, scope, deadline); each try is an Attempt.
 */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** X-Request-Id from the client, or generated. */
  readonly requestId: string;
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /** The raw target (path and query) as the client sent it. */
  readonly target: string;
  readonly query: URLSearchParams;
  /** Client address after trusted-proxy resolution (set by the policy engine). */
  clientIp: string;
  /** Name of the authenticated application, when app auth is configured (set by app auth). */
  app?: string;
  /** Slime-Priority capped by the application's ceiling; absent = normal (set by app auth). */
  priority?: Priority;
  /** Slime-Scope, or the scope a router chose. */
  scope?: string;
  /** Where the request goes; the router may change it. Default: any agent. */
  route: RouteTarget;
  /** The client asked to switch protocols (a WebSocket...): set only on the hub's upgrade path. */
  upgrade?: ClientUpgrade;
  /** Whether the request waits for a free agent (Slime-Block) and for how long (ms). */
  readonly block: boolean;
  readonly blockTimeoutMs?: number;
  /** Time from handing the request to an agent to its response head; 0 = none (the router may set it). */
  requestTimeoutMs?: number;
  /** Headers to send upstream (hop-by-hop and Slime-* removed, X-Forwarded-* added; app auth drops its key). */
  upstreamHeaders: HeaderList;
  /** The request body as the client sends it, paused; null when the request has none. */
  readonly body: Readable | null;
  /** Extra response headers added by policies (RateLimit, ...). */
  readonly responseHeaders: Record<string, string>;
  /** The response the client gets, once the pipeline chose one. */
  result?: ProxyResponse;
  /** Aborted when the client went away; policies should stop waiting. */
  readonly signal: AbortSignal;
  /** Shaping + dispatch, set by the pipeline before the fallback slot (fallback calls it per try). */
  downstream?: Downstream;
  /** The try in progress (set by the downstream while it runs). */
  attempt?: Attempt;
  /**
   * What dispatch listens on for the client leaving: a cheaper stand-in than `signal` (no
   * AbortSignal is made for a request that no policy waits in).
   */
  readonly abortLike?: AbortLike;
  readonly log: Logger;
  /** Milliseconds from the hub's clock when the request arrived. */
  readonly startedAt: number;
  /** Free-form annotations for the access log (outcome, rule names...). */
  readonly notes: Record<string, string | number | boolean>;
  /**
   * The policy engine's view of the request (policy/request-view.ts), kept here rather than in a
   * WeakMap keyed by the context: a WeakMap entry kept each request's objects alive through young
   * collections until they were promoted (4 ms scavenges instead of 0.7, and mark-compacts).
   */
  policyView?: unknown;
  /** The rate-limit policy's hold on the request (slots, byte rules), kept here for the same reason. */
  rateLimitHold?: unknown;
  /** The request's trace when tracing is on (tracing/hub-tracing.ts), kept here for the same reason. */
  traceState?: unknown;
}

/** A policy: a named async middleware. It calls `next()` at most once. */
export type Policy = ((ctx: RequestContext, next: () => Promise<void>) => Promise<void>) & {
  /**
   * True while the policy would only call `next()` (its part of the policy document is empty):
   * compose then passes over it, so an unconfigured step costs no call, frame or closure. Asked
   * per request, so a policy update that fills the step takes effect on the next request.
   */
  idle?: () => boolean;
};
