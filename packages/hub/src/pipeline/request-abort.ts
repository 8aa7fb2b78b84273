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
  // Most requests have one listener (dispatch's): it takes no array; a second one makes the list.
  #first: (() => void) | null = null;
  #more: Array<() => void> | null = null;
  #controller: AbortController | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    // as an AbortSignal: a listener added after the abort never runs
    if (this.aborted) return;
    if (this.#first === null && this.#more === null) this.#first = listener;
    else if (this.#more === null) this.#more = [listener];
    else this.#more.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.#first === listener) {
      this.#first = null;
      return;
    }
    const i = this.#more?.indexOf(listener) ?? -1;
    if (i !== -1) this.#more!.splice(i, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.#reason = reason;
    const first = this.#first;
    const more = this.#more;
    this.#first = this.#more = null;
    this.#controller?.abort(reason);
    first?.();
    if (more !== null) for (const fn of more) fn();
  }

  /** A real AbortSignal that follows this one. */
  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    if (this.aborted && !this.#controller.signal.aborted) this.#controller.abort(this.#reason);
    return this.#controller.signal;
  }
}
