import type { Logger } from 'pino';
import type { OpenStreamRequest } from '../agents/connection-types.js';
import { DEFAULT_APP, type Priority } from '../apps/app-types.js';
import { HubError } from '../errors.js';
import type { ProxyResponse } from '../pipeline/context.js';
import type { AbortLike } from '../pipeline/request-abort.js';
import type { AgentGate } from './agent-gate.js';
import { type AppLoad, createAppLoad } from './app-load.js';
import { type AppShare, type FairNode, FairQueue, type Offer } from './fair-queue.js';

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
  gate?: AgentGate;
  /** Agents this request already failed on (could not reach their upstream): not picked again. */
  exclude?: ReadonlySet<DispatchAgent>;
  /** The application it is queued and counted under; default `default`. */
  app?: string;
  /** Its order within the application's waiters; default `normal`. */
  priority?: Priority;
}

interface Waiter {
  ticket: DispatchTicket;
  resolve: (s: DispatchedStream) => void;
  reject: (e: HubError) => void;
  timer: NodeJS.Timeout | undefined;
  onAbort: () => void;
  /** Unsubscribes from the gate's wake-ups. */
  offGate: (() => void) | undefined;
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
}

const EQUAL_SHARE: AppShare = { weight: 1, maxQueue: undefined };

/**
 * Matches requests with agents. A request holds a `concurrent` slot only while dispatched, so a
 * request waiting for an absent scope never blocks others. Waiters are woken by events (a credit
 * arrives, a stream ends, an agent connects), never by polling. Among those an agent can serve,
 * applications take turns by weight (deficit round robin, see FairQueue); within one application
 * higher priorities go first, then FIFO.
 */
export class Dispatcher {
  readonly #opts: DispatcherOptions;
  readonly #ready = new Set<DispatchAgent>();
  readonly #queue: FairQueue<Waiter>;
  readonly #share: (app: string) => AppShare;
  readonly #load: AppLoad = createAppLoad();
  #active = 0;
  #picks = 0;
  #closed = false;
  /** Whether the last #pick passed over an agent only because the ticket's gate refused it. */
  #gated = false;

  constructor(opts: DispatcherOptions) {
    this.#opts = opts;
    this.#share = opts.share ?? (() => EQUAL_SHARE);
    this.#queue = new FairQueue<Waiter>(this.#share);
  }

  /** Per application: requests dispatched now, waiting, and served since start (for status). */
  appStats(): { app: string; inFlight: number; queued: number; served: number }[] {
    return this.#load.stats(this.#queue.waiting());
  }

  get queueLength(): number {
    return this.#queue.size;
  }

  get active(): number {
    return this.#active;
  }

  /** An agent gained capacity (connected, granted credits, or a stream returned its credit). */
  capacity(agent: DispatchAgent): void {
    if (agent.accepting) this.#ready.add(agent);
    this.#drain();
  }

  /** An agent is gone or draining. */
  remove(agent: DispatchAgent): void {
    this.#ready.delete(agent);
  }

  /** Finds an agent for the request now, or queues it; resolves with the opened stream. */
  dispatch(ticket: DispatchTicket): Promise<DispatchedStream> {
    if (this.#closed) return Promise.reject(new HubError('ERR_HUB_SHUTTING_DOWN', 'hub is shutting down'));
    if (ticket.signal.aborted) return Promise.reject(new HubError('ERR_HUB_CLIENT_GONE', 'client went away'));
    const limited = this.#opts.concurrent !== undefined && this.#active >= this.#opts.concurrent;
    // Earlier waiters for the same agents go first: only skip the queue when nobody waits for a slot.
    if (!limited && !(ticket.front && this.#queue.size > 0)) {
      const agent = this.#pick(ticket);
      if (agent) return Promise.resolve(this.#assign(ticket, agent));
      if (!ticket.block) return Promise.reject(this.#gated ? ticket.gate!.refusal() : noAgent(ticket));
    }
    if (!ticket.front) {
      const full = this.#admit(ticket);
      if (full) return Promise.reject(full);
    }
    const app = ticket.app ?? DEFAULT_APP;
    return new Promise<DispatchedStream>((resolve, reject) => {
      const waiter: Waiter = {
        ticket,
        resolve,
        reject,
        timer: undefined,
        onAbort: () => {},
        // A gated waiter is woken when its gate frees an agent's slot, not only by credits.
        offGate: ticket.gate?.onAvailable(() => this.#drain()),
        enqueuedAt: this.#opts.now(),
        entry: undefined,
      };
      waiter.entry = this.#queue.push(app, ticket.priority ?? 'normal', waiter, ticket.front);
      waiter.onAbort = () =>
        this.#leave(waiter, new HubError('ERR_HUB_CLIENT_GONE', 'client went away'), 'client-gone');
      ticket.signal.addEventListener('abort', waiter.onAbort, { once: true });
      if (ticket.timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.#leave(
            waiter,
            new HubError('ERR_HUB_BLOCK_TIMEOUT', `no agent became free within ${ticket.timeoutMs} ms`, {
              retryAfter: 1,
            }),
            'timeout',
          );
        }, ticket.timeoutMs);
        waiter.timer.unref?.();
      }
      if (ticket.front) this.#drain();
    });
  }

  /**
   * Whether a new waiter finds room: in the whole queue (`maxQueue`) and in its application's
   * (`apps[].maxQueue`). When full, a waiter of lower priority gives up its place (shed with 503)
   * if there is one; else the newcomer gets the 503. Returns the newcomer's refusal, if any.
   */
  #admit(ticket: DispatchTicket): HubError | undefined {
    const app = ticket.app ?? DEFAULT_APP;
    const priority = ticket.priority ?? 'normal';
    const appLimit = this.#share(app).maxQueue;
    if (appLimit !== undefined && this.#queue.sizeOf(app) >= appLimit) {
      const victim = this.#queue.sheddable(priority, app);
      if (!victim) {
        return new HubError(
          'ERR_HUB_QUEUE_FULL',
          `wait queue of application "${app}" is full (${appLimit})`,
          { retryAfter: 1 },
        );
      }
      this.#shed(victim);
    }
    if (this.#queue.size >= this.#opts.maxQueue) {
      const victim = this.#queue.sheddable(priority);
      if (!victim) {
        return new HubError('ERR_HUB_QUEUE_FULL', `wait queue is full (${this.#opts.maxQueue})`, {
          retryAfter: 1,
        });
      }
      this.#shed(victim);
    }
    return undefined;
  }

  #shed(w: Waiter): void {
    this.#leave(
      w,
      new HubError('ERR_HUB_OVERLOADED', 'shed from a full wait queue for a request of higher priority', {
        retryAfter: 1,
      }),
      'shed',
    );
  }

  #leave(
    w: Waiter,
    err: HubError,
    outcome: 'timeout' | 'client-gone' | 'no-agent' | 'shutdown' | 'shed',
  ): void {
    if (!w.entry?.node.queued) return;
    this.#queue.remove(w.entry);
    this.#cleanup(w);
    this.#opts.onWait?.(this.#opts.now() - w.enqueuedAt, outcome);
    w.reject(err);
  }

  #cleanup(w: Waiter): void {
    if (w.timer) clearTimeout(w.timer);
    w.offGate?.();
    w.ticket.signal.removeEventListener('abort', w.onAbort);
  }

  /** The least busy eligible agent; ties go to the one picked least recently. */
  #pick(ticket: DispatchTicket): DispatchAgent | undefined {
    let best: DispatchAgent | undefined;
    this.#gated = false;
    for (const agent of this.#ready) {
      if (!agent.accepting) {
        this.#ready.delete(agent);
        continue;
      }
      if (!agent.serves(ticket.scope, ticket.path)) continue;
      if (ticket.exclude?.has(agent) || this.#opts.isEjected?.(agent)) continue;
      if (ticket.gate && !ticket.gate.admits(agent.id)) {
        this.#gated = true;
        continue;
      }
      if (
        !best ||
        agent.inFlight < best.inFlight ||
        (agent.inFlight === best.inFlight && agent.lastPick < best.lastPick)
      ) {
        best = agent;
      }
    }
    return best;
  }

  #assign(ticket: DispatchTicket, agent: DispatchAgent): DispatchedStream {
    agent.lastPick = ++this.#picks;
    ticket.gate?.assigned(agent.id);
    const stream = ticket.open(agent);
    if (!agent.accepting) this.#ready.delete(agent);
    this.#active++;
    const app = ticket.app ?? DEFAULT_APP;
    this.#load.started(app);
    stream.onSettled(() => {
      this.#active--;
      this.#load.ended(app);
      this.#drain();
    });
    return stream;
  }

  /** Hands free agents to waiters, in the fair queue's order. */
  #drain(): void {
    if (this.#queue.size === 0) return;
    this.#queue.drain((w) => this.#offer(w));
  }

  #offer(w: Waiter): Offer {
    if (this.#opts.concurrent !== undefined && this.#active >= this.#opts.concurrent) return 'stop';
    if (this.#ready.size === 0 && w.ticket.block) return 'stop';
    const agent = this.#pick(w.ticket);
    if (!agent) {
      // It waited only for a --concurrent slot; with no agent for it, fail fast as it asked.
      if (!w.ticket.block)
        this.#leave(w, this.#gated ? w.ticket.gate!.refusal() : noAgent(w.ticket), 'no-agent');
      return 'skip';
    }
    this.#queue.remove(w.entry!);
    this.#cleanup(w);
    this.#opts.onWait?.(this.#opts.now() - w.enqueuedAt, 'dispatched');
    let stream: DispatchedStream;
    try {
      stream = this.#assign(w.ticket, agent);
    } catch (err) {
      w.reject(
        err instanceof HubError ? err : new HubError('ERR_HUB_INTERNAL', 'dispatch failed', { cause: err }),
      );
      return 'skip';
    }
    // A waiter takes a slot that was just freed: its REQUEST leaves now, ahead of the finished
    // response's own bookkeeping (writing it out, the access line, metrics) that follows in this turn.
    agent.flush?.();
    w.resolve(stream);
    return 'served';
  }

  /** Stops taking new requests; waiters get 503 at once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of [...this.#queue.values()]) {
      this.#leave(
        w,
        new HubError('ERR_HUB_SHUTTING_DOWN', 'hub is shutting down', { retryAfter: 1 }),
        'shutdown',
      );
    }
  }
}

function noAgent(ticket: DispatchTicket): HubError {
  const what =
    ticket.scope === undefined ? 'no agent is free' : `no agent for scope "${ticket.scope}" is free`;
  // The designed answer when every slot is taken, at the rate clients retry: without a stack
  // trace, which was most of its cost (a 503 is no bug to debug).
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new HubError('ERR_HUB_NO_AGENT', `${what}; send Slime-Block: 1 to wait`, { retryAfter: 1 });
  } finally {
    Error.stackTraceLimit = limit;
  }
}
