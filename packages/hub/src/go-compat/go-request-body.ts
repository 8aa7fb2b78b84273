import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { chunk, LAST_CHUNK, type RequestFraming } from './http-wire.js';

export interface GoRequestBodyHooks {
  /** Bytes were read from the client (the request can no longer go elsewhere). */
  onRead(bytes: number): void;
  /** The whole body went out in the long poll's answer. */
  onSent(): void;
  /** The client's body failed. */
  onError(): void;
}

/**
 * The body of a request handed to a Go agent, copied from the client into the answer to the
 * agent's long poll (chunk-framed when the request was), as fast as the agent reads it.
 */
export class GoRequestBody {
  readonly #res: ServerResponse;
  readonly #framing: RequestFraming;
  readonly #hooks: GoRequestBodyHooks;
  #source: Readable | null;
  /** Whether any byte was read from the client. */
  read = false;
  /** Whether the whole body went out (at once for a request without one). */
  sent = false;

  constructor(
    res: ServerResponse,
    source: Readable | null,
    framing: RequestFraming,
    hooks: GoRequestBodyHooks,
  ) {
    this.#res = res;
    this.#source = source;
    this.#framing = framing;
    this.#hooks = hooks;
  }

  /** Starts the copy, once the poll's answer has its head. */
  start(): void {
    const source = this.#source;
    if (!source) {
      this.sent = true;
      return;
    }
    source.on('data', this.#onData);
    source.once('end', this.#onEnd);
    source.once('error', this.#onError);
    // A body someone paused (a byte counter, a refused try) does not start flowing by itself.
    source.resume();
  }

  /** Stops the copy; returns the client's body, paused, when it was still attached. */
  detach(): Readable | null {
    const source = this.#source;
    if (!source) return null;
    this.#source = null;
    source.off('data', this.#onData);
    source.off('end', this.#onEnd);
    source.off('error', this.#onError);
    source.pause();
    return source;
  }

  #onData = (data: Buffer): void => {
    this.read = true;
    this.#hooks.onRead(data.byteLength);
    const res = this.#res;
    if (res.destroyed) return;
    let ok = true;
    if (this.#framing === 'chunked') {
      res.cork();
      for (const part of chunk(data)) ok = res.write(part);
      res.uncork();
    } else {
      ok = res.write(data);
    }
    if (!ok) {
      this.#source?.pause();
      res.once('drain', () => this.#source?.resume());
    }
  };

  #onEnd = (): void => {
    if (this.#framing === 'chunked' && !this.#res.destroyed) this.#res.write(LAST_CHUNK);
    this.sent = true;
    this.detach();
    this.#hooks.onSent();
  };

  #onError = (): void => {
    this.#hooks.onError();
  };
}
