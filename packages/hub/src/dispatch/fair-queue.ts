import { PRIORITIES, type Priority } from '../apps/app-types.js';
import { type QueueNode, WaitQueue } from './wait-queue.js';

/** How much an application may take while others wait; read at each of its turns. */
export interface AppShare {
  weight: number;
  maxQueue: number | undefined;
}

/** One application's waiters: a FIFO per priority, and its place in the round. */
interface Lane<T> {
  readonly app: string;
  readonly queues: readonly [WaitQueue<T>, WaitQueue<T>, WaitQueue<T>];
  size: number;
  /** Deficit round robin: requests the app may still send in this turn. */
  deficit: number;
  /** Whether its turn has begun (its quantum was added). */
  inTurn: boolean;
  /** Its node in the round of lanes with waiters, when it has any. */
  ring: QueueNode<Lane<T>> | null;
}

/** A queued entry; keep it to remove the entry in O(1). */
export interface FairNode<T> {
  readonly value: T;
  readonly app: string;
  readonly priority: Priority;
  readonly node: QueueNode<T>;
  /** Null for the urgent queue (re-dispatches). */
  readonly lane: Lane<T> | null;
}

/**
 * What the drain's callback says about one waiter: served; skipped (nothing for it now, e.g. no
 * agent of its scope: its application's turn ends if none of its waiters can go); blocked (held
 * back by a limit shared with others, such as a shaping group at its limit: its application keeps
 * the rest of its turn for when the limit frees); or stop (nothing more can be served now).
 */
export type Offer = 'served' | 'skip' | 'blocked' | 'stop';

const rank = (p: Priority) => PRIORITIES.indexOf(p);

/**
 * The wait queue, fair across applications: deficit round robin over the applications with
 * waiters (each turn an app may send `weight` requests), FIFO within one application and
 * priority, higher priorities of an app first. Requests going back to the front after an agent
 * loss (already admitted once) skip the round in an urgent FIFO.
 *
 * With every application at weight 1 and one application waiting, this is the plain FIFO it
 * replaces.
 */
export class FairQueue<T> {
  readonly #share: (app: string) => AppShare;
  readonly #lanes = new Map<string, Lane<T>>();
  /** Lanes with waiters, in round order; the head is the lane whose turn it is. */
  readonly #ring = new WaitQueue<Lane<T>>();
  readonly #urgent = new WaitQueue<T>();
  /** Urgent waiters per app, for `waiting()`. */
  readonly #urgentByApp = new Map<string, number>();
  #size = 0;

  constructor(share: (app: string) => AppShare) {
    this.#share = share;
  }

  get size(): number {
    return this.#size;
  }

  /** Requests of `app` waiting (not counting urgent re-dispatches). */
  sizeOf(app: string): number {
    return this.#lanes.get(app)?.size ?? 0;
  }

  /** Applications with a lane, and their waiting counts (for status). */
  waiting(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [app, lane] of this.#lanes) out.set(app, lane.size);
    for (const [app, n] of this.#urgentByApp) out.set(app, (out.get(app) ?? 0) + n);
    return out;
  }

  push(app: string, priority: Priority, value: T, front: boolean): FairNode<T> {
    this.#size++;
    if (front) {
      this.#urgentByApp.set(app, (this.#urgentByApp.get(app) ?? 0) + 1);
      return { value, app, priority, node: this.#urgent.unshift(value), lane: null };
    }
    const lane = this.#lane(app);
    const node = lane.queues[rank(priority)]!.push(value);
    lane.size++;
    if (!lane.ring) lane.ring = this.#ring.push(lane);
    return { value, app, priority, node, lane };
  }

  remove(entry: FairNode<T>): void {
    if (!entry.node.queued) return;
    this.#size--;
    const lane = entry.lane;
    if (!lane) {
      this.#urgent.remove(entry.node);
      const n = (this.#urgentByApp.get(entry.app) ?? 1) - 1;
      if (n > 0) this.#urgentByApp.set(entry.app, n);
      else this.#urgentByApp.delete(entry.app);
      return;
    }
    lane.queues[rank(entry.priority)]!.remove(entry.node);
    lane.size--;
    if (lane.size === 0 && lane.ring) {
      this.#ring.remove(lane.ring);
      lane.ring = null;
      // An app that stops waiting starts its next turn afresh, as in DRR.
      lane.deficit = 0;
      lane.inTurn = false;
    }
  }

  /**
   * The newest waiter of the lowest priority below `than`, in `app`'s lane or, without `app`,
   * in the lane with the most waiters holding one: the first to shed under overload.
   */
  sheddable(than: Priority, app?: string): T | undefined {
    const lanes = app === undefined ? [...this.#lanes.values()] : [this.#lanes.get(app)];
    for (let p = PRIORITIES.length - 1; p > rank(than); p--) {
      let best: Lane<T> | undefined;
      for (const lane of lanes) {
        if (lane && lane.queues[p]!.size > 0 && (!best || lane.size > best.size)) best = lane;
      }
      if (best) return best.queues[p]!.last?.value;
    }
    return undefined;
  }

  /**
   * Offers waiters to `offer` in service order until it says 'stop' or no waiter can be served:
   * urgent ones first, then the round. 'served' and 'skip' remove nothing themselves: `offer`
   * removes the entries it takes or drops (through the FairNode it keeps).
   */
  drain(offer: (value: T) => Offer): void {
    for (const node of this.#urgent) {
      const r = offer(node.value);
      if (r === 'stop') return;
    }
    // Lanes that had a request's worth of turn and could send none since the last service; when
    // every lane in the round is among them, nothing can be served until capacity changes.
    const stuck = new Set<Lane<T>>();
    // The lane whose turn it is: the head, unless the head is held back by a shared limit; such a
    // lane keeps its place and the rest of its turn, and the lanes after it are tried meanwhile.
    let at = this.#ring.first;
    while (at) {
      const lane = at.value;
      // read first: serving the lane's last waiter takes its node off the round
      const next = at.next;
      if (!lane.inTurn) {
        lane.inTurn = true;
        lane.deficit += this.#share(lane.app).weight;
      }
      let served = false;
      let blocked = false;
      while (lane.deficit >= 1 && lane.size > 0) {
        const r = this.#offerOne(lane, offer);
        if (r === 'stop') return;
        if (r === 'none') {
          // Nothing of this app can go now (its scope has no free agent): its turn is over.
          lane.deficit = 0;
          stuck.add(lane);
          break;
        }
        if (r === 'blocked') {
          // Held back by a shared limit: the app resumes its turn when the limit frees, else
          // each freed slot would start a new turn and weights would count for nothing.
          blocked = true;
          stuck.add(lane);
          break;
        }
        // remove() already reset an emptied lane: charging it would cost it its next turn
        if (lane.ring) lane.deficit -= 1;
        served = true;
      }
      if (served) stuck.clear();
      if (!lane.ring) {
        // emptied (served or dropped): remove() took it off the round
        stuck.delete(lane);
      } else if (!blocked) {
        lane.inTurn = false;
        this.#ring.remove(at);
        lane.ring = this.#ring.push(lane);
      }
      if (stuck.size >= this.#ring.size) return;
      at = next ?? this.#ring.first;
    }
  }

  #offerOne(lane: Lane<T>, offer: (value: T) => Offer): 'served' | 'none' | 'blocked' | 'stop' {
    let blocked = false;
    for (const q of lane.queues) {
      for (const node of q) {
        const r = offer(node.value);
        if (r === 'served' || r === 'stop') return r;
        if (r === 'blocked') blocked = true;
      }
    }
    return blocked ? 'blocked' : 'none';
  }

  *values(): IterableIterator<T> {
    for (const n of this.#urgent) yield n.value;
    for (const lane of this.#lanes.values()) for (const q of lane.queues) for (const n of q) yield n.value;
  }

  #lane(app: string): Lane<T> {
    let lane = this.#lanes.get(app);
    if (!lane) {
      lane = {
        app,
        queues: [new WaitQueue<T>(), new WaitQueue<T>(), new WaitQueue<T>()],
        size: 0,
        deficit: 0,
        inTurn: false,
        ring: null,
      };
      this.#lanes.set(app, lane);
    }
    return lane;
  }
}
