/** What dispatch needs of an abort signal (an AbortSignal has it too). */
export interface AbortLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A request's "client went away" signal. An AbortController with its AbortSignal (an EventTarget)
 * cost ~3 µs a request before anyone listened, and only policies that wait (queues, jitter,
 * fallback) need a real AbortSignal: dispatch listens here, and `signal` makes the real one on
 * first use, aborted together with this.
 */
export class RequestAbort implements AbortLike {
  aborted = false;
  #reason: unknown;
  #listeners: Array<() => void> = [];
  #controller: AbortController | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    // as an AbortSignal: a listener added after the abort never runs
    if (!this.aborted) this.#listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.#listeners.indexOf(listener);
    if (i !== -1) this.#listeners.splice(i, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.#reason = reason;
    const listeners = this.#listeners;
    this.#listeners = [];
    this.#controller?.abort(reason);
    for (const fn of listeners) fn();
  }

  /** A real AbortSignal that follows this one. */
  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    if (this.aborted && !this.#controller.signal.aborted) this.#controller.abort(this.#reason);
    return this.#controller.signal;
  }
}
