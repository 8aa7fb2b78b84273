import type { Logger } from 'pino';
import type { OpenStreamRequest } from '../agents/connection-types.js';
import type { Priority } from '../apps/app-types.js';
import type { HubError } from '../errors.js';
import type { ProxyResponse } from '../pipeline/context.js';
import type { AbortLike } from '../pipeline/request-abort.js';
import type { Timers } from '../pipeline/timers.js';
import type { AdmissionGate } from './admission-gate.js';
import type { AgentGate } from './agent-gate.js';
import type { AppShare, FairNode } from './fair-queue.js';

/**
 * What dispatch uses of a request handed to an agent: a native HubStream, or a Go agent's
 * long-poll hand-over (go-compat). The response resolves with the head; the body streams later.
 */
export interface DispatchedStream {
  readonly response: Promise<ProxyResponse>;
  /** Stops the request at the agent (the client left): the response rejects. */
  cancel(reason: string): void;
  /** The request deadline passed before the response head: cancel, and 504 for the client. */
  expire(timeoutMs: number): void;
  /** Runs `fn` once the stream stops counting against the hub. */
  onSettled(fn: () => void): void;
}

/** What the dispatcher and the dispatch policy use of an agent: a native AgentConnection or a Go worker. */
export interface DispatchAgent {
  readonly id: string;
  /** Whether a request may be opened on it now. */
  readonly accepting: boolean;
  readonly inFlight: number;
  /** Sequence of the last dispatch to it, for least-recently-used tie breaking. */
  lastPick: number;
  /** Whether it may serve a request for `scope` (Slime-Scope) and `path`. */
  serves(scope: string | undefined, path: string): boolean;
  openStream(request: OpenStreamRequest): DispatchedStream;
  /** Writes what the agent's connection holds back now (frames are otherwise batched per turn). */
  flush?(): void;
}

/** What the dispatcher needs to know about a request. */
export interface DispatchTicket {
  scope: string | undefined;
  path: string;
  /** Wait for an agent instead of failing fast. */
  block: boolean;
  /** Longest wait, ms; undefined = until the client leaves. */
  timeoutMs: number | undefined;
  /** The client went away (an AbortSignal, or the request's cheaper stand-in). */
  signal: AbortLike;
  /** Re-dispatch after an agent loss: goes to the front of the queue. */
  front: boolean;
  /** Opens the stream on the chosen agent; called synchronously when an agent is assigned. */
  open: (agent: DispatchAgent) => DispatchedStream;
  /** Per-agent shaping: only agents the gate admits are picked. */
  gate?: AgentGate | undefined;
  /** Shaping's admission (group limit, pacing, Retry-After holds), asked before an agent is picked. */
  admission?: AdmissionGate | undefined;
  /** Agents this request already failed on (could not reach their upstream): not picked again. */
  exclude?: ReadonlySet<DispatchAgent> | undefined;
  /** The application it is queued and counted under; default `default`. */
  app?: string | undefined;
  /** Its order within the application's waiters; default `normal`. */
  priority?: Priority | undefined;
}

/** A request waiting in the dispatcher's queue for an agent. */
export interface Waiter {
  ticket: DispatchTicket;
  resolve: (s: DispatchedStream) => void;
  reject: (e: HubError) => void;
  timer: unknown;
  onAbort: () => void;
  /** Unsubscribes from the gates' wake-ups. */
  offGate: (() => void) | undefined;
  offAdmission: (() => void) | undefined;
  /** Held back by its admission gate when last asked (not counted as waiting for an agent). */
  gated: boolean;
  enqueuedAt: number;
  entry: FairNode<Waiter> | undefined;
}

export interface DispatcherOptions {
  /** Most requests dispatched at once, over all agents; undefined = unlimited. */
  concurrent: number | undefined;
  maxQueue: number;
  now: () => number;
  log: Logger;
  /** Agents taken out of dispatch for a while (outlier ejection). */
  isEjected?: (agent: DispatchAgent) => boolean;
  /** Observes queue waits (ms) and their outcome, for metrics. */
  onWait?: (
    ms: number,
    outcome: 'dispatched' | 'timeout' | 'client-gone' | 'no-agent' | 'shutdown' | 'shed',
  ) => void;
  /** Each application's weight and queue limit (the policy's `apps`); default weight 1, no limit. */
  share?: (app: string) => AppShare;
  /** Timers for Slime-Block-Timeout; default the global ones (unref'd). Injected by tests. */
  timers?: DispatchTimers;
}

export type DispatchTimers = Timers;
