/**
 * The abort signal of one upstream call. An AbortController and its AbortSignal cost about 3 µs a
 * request (an EventTarget each, profiled); undici needs only `aborted`, `reason` and its one
 * listener, so the common call, which is never aborted, gets this instead. The rare node:http
 * path (`*` targets, request trailers) gets a real AbortSignal from `toAbortSignal()`.
 */
// One reason for every aborted call: undici destroys the response with it and streams read its
// stack; a fresh Error per abort cost ~15 µs (stack capture and formatting) when a burst of 1,000
// SSE clients left at once. Nothing inspects it beyond its name.
export const ABORTED = new Error('This operation was aborted');
ABORTED.name = 'AbortError';

export class CallSignal {
  aborted = false;
  reason: Error | undefined;
  #listeners: Array<() => void> = [];
  #controller: AbortController | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.#listeners.indexOf(listener);
    if (i !== -1) this.#listeners.splice(i, 1);
  }

  /** Aborts once: listeners run with `reason` set, as an AbortSignal's would. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const reason = ABORTED;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const fn of listeners) fn();
    this.#controller?.abort(reason);
  }

  /** A real AbortSignal that follows this one, for APIs that need one. */
  toAbortSignal(): AbortSignal {
    this.#controller ??= new AbortController();
    if (this.aborted) this.#controller.abort(this.reason);
    return this.#controller.signal;
  }
}
