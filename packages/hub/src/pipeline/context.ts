import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { HeaderList } from '@slime/protocol';
import type { Logger } from 'pino';
import type { Priority } from '../apps/app-types.js';
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
}

/** Per-request state every policy sees. Created once per application request by the hub. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** X-Request-Id from the client, or generated. */
  readonly requestId: string;
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /** The raw target (path and query) as the client sent it. */
  target: string;
  readonly query: URLSearchParams;
  /** Client address after trusted-proxy resolution. */
  clientIp: string;
  /** Name of the authenticated application, when app auth is configured. */
  app?: string;
  /** Slime-Priority capped by the application's ceiling; absent = normal. */
  priority?: Priority;
  /** Slime-Scope, or the scope a router chose. */
  scope?: string;
  /** Where the request goes; the router may change it. Default: any agent. */
  route: RouteTarget;
  /** Per-agent shaping: which agents may take the request (set by the shaping policy). */
  agentGate?: AgentGate;
  /** The client asked to switch protocols (a WebSocket...): set only on the hub's upgrade path. */
  upgrade?: ClientUpgrade;
  /** Whether the request waits for a free agent (Slime-Block) and for how long (ms). */
  block: boolean;
  blockTimeoutMs?: number;
  /** Time from handing the request to an agent to its response head; 0 = none (hub default otherwise). */
  requestTimeoutMs?: number;
  /** Headers to send upstream (hop-by-hop and Slime-* already removed, X-Forwarded-* added). */
  upstreamHeaders: HeaderList;
  /** The request body, paused; null when the request has none. Fallback may swap in a replayable copy. */
  body: Readable | null;
  /** Whether body bytes were already read from the client (then it cannot be re-dispatched). */
  bodyConsumed: boolean;
  /** Extra response headers added by policies (RateLimit, ...). */
  readonly responseHeaders: Record<string, string>;
  /** The response once dispatch produced one. */
  result?: ProxyResponse;
  /**
   * Set when the client went away; policies should stop waiting. Fallback narrows it during each
   * try (client gone or the try's timeout) and restores it afterwards.
   */
  signal: AbortSignal;
  /**
   * What dispatch listens on: `signal` itself once a policy narrowed it, else a cheaper stand-in
   * that aborts with it (no AbortSignal is made for a request that no policy waits in).
   */
  readonly abortLike?: AbortLike;
  /**
   * Shaping + dispatch for the current `route`, set by the pipeline before the fallback slot:
   * fallback runs it once per endpoint, since a policy may call `next()` only once.
   */
  downstream?: (ctx: RequestContext) => Promise<void>;
  /** 0 (or absent) for the first try; fallback tries count up. Request bytes are charged once. */
  attempt?: number;
  readonly log: Logger;
  /** Milliseconds from the hub's clock when the request arrived. */
  readonly startedAt: number;
  /** Free-form annotations for the access log (outcome, rule names...). */
  readonly notes: Record<string, string | number | boolean>;
}

/** A policy: a named async middleware. It calls `next()` at most once. */
export type Policy = (ctx: RequestContext, next: () => Promise<void>) => Promise<void>;
