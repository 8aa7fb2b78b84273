import { DEFAULT_APP } from '../apps/app-types.js';
import { HubError } from '../errors.js';
import { type AppLoad, createAppLoad } from './app-load.js';
import type {
  DispatchAgent,
  DispatchedStream,
  DispatcherOptions,
  DispatchTicket,
  DispatchTimers,
  Waiter,
} from './dispatch-types.js';
import { type AppShare, FairQueue, type Offer } from './fair-queue.js';

export type {
  DispatchAgent,
  DispatchedStream,
  DispatcherOptions,
  DispatchTicket,
  DispatchTimers,
} from './dispatch-types.js';

const GLOBAL_TIMERS: DispatchTimers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

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
  /** The one in-flight count: `active` and the per-app figures are read from it. */
  readonly #load: AppLoad = createAppLoad();
  #picks = 0;
  #closed = false;
  /** Whether the last #pick passed over an agent only because the ticket's gate refused it. */
  #gated = false;

  readonly #timers: DispatchTimers;

  constructor(opts: DispatcherOptions) {
    this.#opts = opts;
    this.#share = opts.share ?? (() => EQUAL_SHARE);
    this.#queue = new FairQueue<Waiter>(this.#share);
    this.#timers = opts.timers ?? GLOBAL_TIMERS;
  }

  /** Per application: requests dispatched now, waiting, and served since start (for status). */
  appStats(): { app: string; inFlight: number; queued: number; served: number }[] {
    return this.#load.stats(this.#queue.waiting());
  }

  get queueLength(): number {
    return this.#queue.size;
  }

  get active(): number {
    return this.#load.total;
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
    const limited = this.#opts.concurrent !== undefined && this.#load.total >= this.#opts.concurrent;
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
        waiter.timer = this.#timers.set(() => {
          this.#leave(
            waiter,
            new HubError('ERR_HUB_BLOCK_TIMEOUT', `no agent became free within ${ticket.timeoutMs} ms`, {
              retryAfter: 1,
            }),
            'timeout',
          );
        }, ticket.timeoutMs);
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
    if (w.timer !== undefined) this.#timers.clear(w.timer);
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
    const app = ticket.app ?? DEFAULT_APP;
    this.#load.started(app);
    stream.onSettled(() => {
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
    if (this.#opts.concurrent !== undefined && this.#load.total >= this.#opts.concurrent) return 'stop';
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
