import type { Readable } from 'node:stream';
import { type HeaderList, type PumpSource, trailerFields, withoutStack } from '@slime/protocol';
import type { Client, Dispatcher } from 'undici';
import { ABORTED } from './call-signal.js';
import { type RawField, rawFieldList, responseFieldList } from './raw-fields.js';
import type { UpstreamRequest } from './upstream-request.js';

/**
 * What an upstream response reports to its call, however it was requested. Fields are flat
 * [name, value, ...] lists with lower-case names, as undici's parsed headers list them.
 */
export interface ResponseEvents {
  /** An interim (1xx) response head. */
  onUpstreamInfo(status: number, fields: string[]): void;
  /**
   * The response head, its hop-by-hop fields already gone; `source` pauses and resumes the body.
   * False when the call will not take the body (it has aborted the request).
   */
  onUpstreamHead(status: number, headers: HeaderList, source: PumpSource): boolean;
  onUpstreamData(chunk: Uint8Array): void;
  /** The body is complete: undici is done with the connection. Trailers only when asked for. */
  onUpstreamEnd(trailers: HeaderList | undefined): void;
  /** The request failed (before or after the head), or was aborted. */
  onUpstreamError(err: Error): void;
}

/**
 * One upstream request through undici's `dispatch` with a handler of our own. undici's `request()`
 * wraps every response in a Readable, a promise and a parsed header object; profiled per small
 * request that machinery cost more than the proxying itself. Here the head arrives as raw fields,
 * body chunks go straight to the call's pump, and backpressure is undici's own: `onData` returns
 * false while the pump holds chunks back (`pause`), and `resume` restarts the socket.
 */
export class DispatchResponse implements Dispatcher.DispatchHandler, PumpSource {
  readonly #events: ResponseEvents;
  /** Whether the call forwards the upstream's trailer section (protocol 3). */
  readonly #trailers: boolean;
  #abort: ((err: Error) => void) | null = null;
  #resume: (() => void) | null = null;
  #paused = false;
  #aborted = false;
  /** Inside `dispatch()`: an error undici reports synchronously waits for the next microtask. */
  #dispatching = false;

  constructor(events: ResponseEvents, trailers: boolean) {
    this.#events = events;
    this.#trailers = trailers;
  }

  /** Sends the request on `client`; every outcome, a synchronous refusal included, comes as events. */
  dispatch(
    client: Client,
    request: UpstreamRequest,
    body: Readable | null,
    timeouts: { headersTimeoutMs: number; bodyTimeoutMs: number },
  ): void {
    this.#dispatching = true;
    try {
      const options: Dispatcher.DispatchOptions = {
        method: request.method as Dispatcher.HttpMethod,
        path: request.path,
        headers: request.headers,
        body,
        headersTimeout: timeouts.headersTimeoutMs,
        bodyTimeout: timeouts.bodyTimeoutMs,
      };
      client.dispatch(options, this);
    } finally {
      this.#dispatching = false;
    }
  }

  /** Stops the request (whatever phase it is in); undici then reports the abort as an error. */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    const abort = this.#abort;
    this.#abort = null;
    if (abort === null) return;
    // undici destroys the connection with a fresh InformationalError('aborted') per abort; its
    // stack (captured, never read: the socket's error goes nowhere we log) was the main cost of a
    // cancel when a burst of SSE clients left. No stack for errors made inside this call.
    withoutStack(() => abort(ABORTED));
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#resume?.();
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.#aborted) abort(ABORTED);
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: RawField[], resume: () => void): boolean {
    if (statusCode < 200) {
      this.#events.onUpstreamInfo(statusCode, rawFieldList(rawHeaders));
      return true;
    }
    this.#resume = resume;
    return this.#events.onUpstreamHead(statusCode, responseFieldList(rawHeaders), this) && !this.#paused;
  }

  onData(chunk: Buffer): boolean {
    this.#events.onUpstreamData(chunk);
    return !this.#paused;
  }

  onComplete(rawTrailers: RawField[] | null): void {
    this.#abort = null;
    this.#resume = null;
    this.#events.onUpstreamEnd(this.#trailers ? trailerFields(rawFieldList(rawTrailers)) : undefined);
  }

  onError(err: Error): void {
    this.#abort = null;
    this.#resume = null;
    if (this.#dispatching) queueMicrotask(() => this.#events.onUpstreamError(err));
    else this.#events.onUpstreamError(err);
  }
}
