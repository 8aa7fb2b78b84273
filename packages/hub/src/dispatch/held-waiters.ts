import type { WakeSource } from './admission-gate.js';
import type { DispatchTimers, Waiter } from './dispatch-types.js';

/**
 * The waiters their admission gate holds back (counted apart: they wait for shaping, not for an
 * agent) and the one timer that wakes the queue when a gate's refusal ends (pacing, a hold).
 */
export class HeldWaiters {
  readonly #timers: DispatchTimers;
  readonly #now: () => number;
  readonly #wakeUp: () => void;
  readonly #byApp = new Map<string, number>();
  #count = 0;
  #wake: { at: number; timer: unknown } | undefined;
  #closed = false;
  /** The wake sources waiters listen on, each once however many wait on it. */
  readonly #sources = new Map<WakeSource, { n: number; off: () => void }>();

  constructor(timers: DispatchTimers, now: () => number, wakeUp: () => void) {
    this.#timers = timers;
    this.#now = now;
    this.#wakeUp = wakeUp;
  }

  get count(): number {
    return this.#count;
  }

  get byApp(): ReadonlyMap<string, number> {
    return this.#byApp;
  }

  /** Counts `w` as held back; with `retryAt`, the queue is woken then (one timer, the earliest). */
  hold(w: Waiter, retryAt: number | undefined): void {
    if (!w.gated) {
      w.gated = true;
      this.#count++;
      const app = w.entry!.app;
      this.#byApp.set(app, (this.#byApp.get(app) ?? 0) + 1);
    }
    if (retryAt !== undefined) this.#wakeAt(retryAt);
  }

  /** `w` is no longer held back (admitted, or gone). */
  release(w: Waiter): void {
    if (!w.gated) return;
    w.gated = false;
    this.#count--;
    const app = w.entry!.app;
    const n = (this.#byApp.get(app) ?? 1) - 1;
    if (n > 0) this.#byApp.set(app, n);
    else this.#byApp.delete(app);
  }

  /** Wakes the queue when `source` frees capacity, while the returned stop has not been called. */
  listen(source: WakeSource): () => void {
    let s = this.#sources.get(source);
    if (!s) {
      s = { n: 0, off: source.onAvailable(this.#wakeUp) };
      this.#sources.set(source, s);
    }
    s.n++;
    const held = s;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--held.n === 0) {
        this.#sources.delete(source);
        held.off();
      }
    };
  }

  #wakeAt(at: number): void {
    if (this.#closed || (this.#wake && this.#wake.at <= at)) return;
    if (this.#wake) this.#timers.clear(this.#wake.timer);
    const timer = this.#timers.set(
      () => {
        this.#wake = undefined;
        this.#wakeUp();
      },
      Math.max(0, at - this.#now()),
    );
    this.#wake = { at, timer };
  }

  close(): void {
    this.#closed = true;
    if (this.#wake) this.#timers.clear(this.#wake.timer);
    this.#wake = undefined;
  }
}
