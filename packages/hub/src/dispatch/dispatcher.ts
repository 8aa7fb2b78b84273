import { DEFAULT_APP } from '../apps/app-types.js';
import { HubError } from '../errors.js';
import { UNREF_TIMERS } from '../pipeline/timers.js';
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
import { HeldWaiters } from './held-waiters.js';
import { blockTimeout, clientGone, noAgent, queueRoom, shed, shuttingDown } from './refusals.js';

export type { AdmissionCheck, AdmissionGate } from './admission-gate.js';
export type {
  DispatchAgent,
  DispatchedStream,
  DispatcherOptions,
  DispatchTicket,
  DispatchTimers,
} from './dispatch-types.js';

const EQUAL_SHARE: AppShare = { weight: 1, maxQueue: undefined };

type Outcome = 'timeout' | 'client-gone' | 'no-agent' | 'shutdown' | 'shed';

/**
 * Matches requests with agents, and is the one place a request waits. A request holds a
 * `concurrent` slot only while dispatched, so a request waiting for an absent scope never blocks
 * others. Before a waiter gets an agent its admission gate (shaping: group limit, pacing, the
 * upstream's Retry-After) is asked; a refusal keeps it in line. Waiters are woken by events (a
 * credit arrives, a stream ends, an agent connects, a gate frees a slot) or by the one timer a gate
 * asked for (`retryAt`), never by polling. Among those that can go, applications take turns by
 * weight (deficit round robin, see FairQueue); within one application higher priorities go first,
 * then FIFO.
 */
export class Dispatcher {
  readonly #opts: DispatcherOptions;
  readonly #ready = new Set<DispatchAgent>();
  readonly #queue: FairQueue<Waiter>;
  readonly #share: (app: string) => AppShare;
  /** The one in-flight count: `active` and the per-app figures are read from it. */
  readonly #load: AppLoad = createAppLoad();
  readonly #timers: DispatchTimers;
  #picks = 0;
  #closed = false;
  /** Whether the last #pick passed over an agent only because the ticket's gate refused it. */
  #gated = false;
  /** Waiters their admission gate holds back: not waiting for an agent. */
  readonly #held: HeldWaiters;
  #draining = false;
  #drainAgain = false;

  constructor(opts: DispatcherOptions) {
    // Waiters hold memory and a client socket each: the one bound on them.
    if (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 1)
      throw new RangeError('maxQueue must be an integer >= 1');
    this.#opts = opts;
    this.#share = opts.share ?? (() => EQUAL_SHARE);
    this.#queue = new FairQueue<Waiter>(this.#share);
    this.#timers = opts.timers ?? UNREF_TIMERS;
    this.#held = new HeldWaiters(this.#timers, opts.now, () => this.#drain());
  }

  /** Per application: requests dispatched now, waiting for an agent, and served since start. */
  appStats(): { app: string; inFlight: number; queued: number; served: number }[] {
    const waiting = this.#queue.waiting();
    for (const [app, n] of this.#held.byApp) waiting.set(app, (waiting.get(app) ?? 0) - n);
    return this.#load.stats(waiting);
  }

  /** Requests waiting for an agent or a --concurrent slot (not those a shaping gate holds back). */
  get queueLength(): number {
    return this.#queue.size - this.#held.count;
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
    const stream = this.dispatchNow(ticket);
    return stream instanceof Promise ? stream : Promise.resolve(stream);
  }

  /**
   * As `dispatch`, but a stream opened at once (an agent was free) comes back as it is: the
   * request path skips a promise and a microtask before its cancel hook and deadline are set.
   */
  dispatchNow(ticket: DispatchTicket): DispatchedStream | Promise<DispatchedStream> {
    if (this.#closed) return Promise.reject(new HubError('ERR_HUB_SHUTTING_DOWN', 'hub is shutting down'));
    if (ticket.signal.aborted) return Promise.reject(clientGone());
    const { admission } = ticket;
    const front = ticket.front || admission?.front === true;
    const limited = this.#opts.concurrent !== undefined && this.#load.total >= this.#opts.concurrent;
    // Earlier waiters for the same agents go first: only skip the queue when nobody waits for a slot.
    const skip = !limited && !(front && this.#queue.size > 0);
    if (skip) admission?.prepare?.();
    // Asked even when it must queue anyway: a request shaping refuses outright learns it now.
    const check = admission ? admission.check() : 'admit';
    if (check instanceof HubError) return Promise.reject(check);
    if (skip && check === 'admit') {
      const agent = this.#pick(ticket);
      if (agent) return this.#assign(ticket, agent);
      if (!ticket.block) return Promise.reject(this.#gated ? ticket.gate!.refusal() : noAgent(ticket));
    }
    const app = ticket.app ?? DEFAULT_APP;
    const priority = ticket.priority ?? 'normal';
    if (!front) {
      const limits = { maxQueue: this.#opts.maxQueue, share: this.#share(app) };
      const full = queueRoom(this.#queue, limits, app, priority, (w) => this.#leave(w, shed(), 'shed'));
      if (full) return Promise.reject(full);
    }
    return new Promise<DispatchedStream>((resolve, reject) => {
      const drain = () => this.#drain();
      const waiter: Waiter = {
        ticket,
        resolve,
        reject,
        timer: undefined,
        onAbort: () => this.#leave(waiter, clientGone(), 'client-gone'),
        // A gated waiter is woken when its gate frees a slot, not only by credits.
        offGate: ticket.gate?.onAvailable(drain),
        offAdmission: admission ? this.#held.listen(admission.source) : undefined,
        gated: false,
        enqueuedAt: this.#opts.now(),
        entry: undefined,
      };
      waiter.entry = this.#queue.push(app, priority, waiter, front);
      if (check !== 'admit') this.#held.hold(waiter, check.retryAt);
      ticket.signal.addEventListener('abort', waiter.onAbort, { once: true });
      if (ticket.timeoutMs !== undefined) {
        waiter.timer = this.#timers.set(() => {
          const what = waiter.gated ? admission?.waitingFor : undefined;
          this.#leave(waiter, blockTimeout(ticket.timeoutMs, what), 'timeout');
        }, ticket.timeoutMs);
      }
      // A re-queued request frees its old slot only now that it is in line: the slot comes back to it.
      admission?.prepare?.();
      if (front) this.#drain();
    });
  }

  #leave(w: Waiter, err: HubError, outcome: Outcome): void {
    if (!w.entry?.node.queued) return;
    this.#queue.remove(w.entry);
    this.#cleanup(w);
    this.#opts.onWait?.(this.#opts.now() - w.enqueuedAt, outcome);
    w.reject(err);
  }

  #cleanup(w: Waiter): void {
    if (w.timer !== undefined) this.#timers.clear(w.timer);
    w.offGate?.();
    w.offAdmission?.();
    this.#held.release(w);
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
    ticket.admission?.admitted(agent.id);
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

  /**
   * Hands free agents to waiters, in the fair queue's order. A wake-up that arrives while it runs
   * (a gate freeing a slot as a waiter is served) runs it again after, not inside it.
   */
  #drain(): void {
    if (this.#queue.size === 0) return;
    if (this.#draining) {
      this.#drainAgain = true;
      return;
    }
    this.#draining = true;
    try {
      do {
        this.#drainAgain = false;
        this.#queue.drain((w) => this.#offer(w));
      } while (this.#drainAgain && this.#queue.size > 0);
    } finally {
      this.#draining = false;
    }
  }

  #offer(w: Waiter): Offer {
    if (this.#opts.concurrent !== undefined && this.#load.total >= this.#opts.concurrent) return 'stop';
    if (this.#ready.size === 0 && w.ticket.block) return 'stop';
    const { admission } = w.ticket;
    if (admission) {
      const check = admission.check();
      if (check instanceof HubError) {
        this.#leave(w, check, 'no-agent');
        return 'skip';
      }
      if (check !== 'admit') {
        this.#held.hold(w, check.retryAt);
        return 'blocked';
      }
      this.#held.release(w);
    }
    const agent = this.#pick(w.ticket);
    if (!agent) {
      // It waited only for a --concurrent slot or its gate; with no agent for it, fail fast as it asked.
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
    this.#held.close();
    for (const w of [...this.#queue.values()]) this.#leave(w, shuttingDown(), 'shutdown');
  }
}
