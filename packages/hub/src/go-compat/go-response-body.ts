import type { ServerResponse } from 'node:http';
import { HubError } from '../errors.js';
import type { ResponseBody } from '../pipeline/context.js';

/** Where a Go agent's response body comes from: its submit, which is read only as fast as wanted. */
export interface GoResponseSource {
  pause(): void;
  resume(): void;
  /** Stops the stream (client gone, body too large for a fallback spool). */
  cancel(reason: string): void;
}

/**
 * The response body of a request a Go agent answers: the bytes its submit carries, written to the
 * client with backpressure (a slow client slows the submit, and through it the agent), or spooled
 * for a fallback decision. Bytes that come before anyone reads are held, and the submit paused.
 */
export class GoResponseBody implements ResponseBody {
  readonly #source: GoResponseSource;
  readonly #onResponseBytes: ((bytes: number) => void) | undefined;
  #failed: HubError | null = null;
  #ended = false;
  #buffered: Uint8Array[] = [];
  #res: ServerResponse | null = null;
  #collector: { chunks: Uint8Array[]; size: number; limit: number } | null = null;
  #pipe: { resolve: () => void; reject: (e: Error) => void } | null = null;
  #pipePromise: Promise<void> | null = null;
  #awaitingDrain = false;

  constructor(source: GoResponseSource, onResponseBytes: ((bytes: number) => void) | undefined) {
    this.#source = source;
    this.#onResponseBytes = onResponseBytes;
  }

  get failure(): HubError | null {
    return this.#failed;
  }

  /** The whole body arrived. */
  end(): void {
    this.#ended = true;
    if (this.#res) this.#finishRes();
    else if (this.#collector) this.#finishCollector();
  }

  /** The stream failed: whoever reads the body gets `err`. */
  fail(err: HubError): void {
    this.#failed = err;
    this.#buffered = [];
    if (this.#res && !this.#res.writableEnded) this.#res.destroy(err);
    this.#pipe?.reject(err);
    this.#pipe = null;
    this.#collector = null;
  }

  /** A piece of the response body from the submit. */
  deliver(data: Uint8Array): void {
    if (this.#res) {
      this.#write(data);
    } else if (this.#collector) {
      const c = this.#collector;
      c.size += data.byteLength;
      if (c.size > c.limit) {
        this.#source.cancel('response body larger than the fallback spool limit');
        return;
      }
      c.chunks.push(data);
    } else {
      // Nobody reads yet: hold this chunk and stop reading the submit until someone does.
      this.#buffered.push(data);
      this.#source.pause();
    }
  }

  #write(data: Uint8Array): void {
    const res = this.#res!;
    if (res.destroyed) return;
    this.#onResponseBytes?.(data.byteLength);
    if (!res.write(data) && !this.#awaitingDrain) {
      // The client reads slowly: so does the Go agent, and through it the upstream.
      this.#awaitingDrain = true;
      this.#source.pause();
      res.once('drain', this.#resumeSubmit);
    }
  }

  #resumeSubmit = (): void => {
    this.#awaitingDrain = false;
    this.#source.resume();
  };

  #finishRes(): void {
    const res = this.#res!;
    const pipe = this.#pipe;
    this.#pipe = null;
    if (res.destroyed) {
      pipe?.reject(new HubError('ERR_HUB_CLIENT_GONE', 'client went away'));
      return;
    }
    res.end(() => pipe?.resolve());
  }

  pipe(res: ServerResponse): Promise<void> {
    if (this.#pipePromise) return this.#pipePromise;
    if (this.#failed) {
      res.destroy(this.#failed);
      this.#pipePromise = Promise.reject(this.#failed);
      return this.#pipePromise;
    }
    this.#res = res;
    this.#pipePromise = new Promise<void>((resolve, reject) => {
      this.#pipe = { resolve, reject };
    });
    res.once('close', () => {
      if (!res.writableFinished) this.#source.cancel('client went away');
    });
    const buffered = this.#buffered;
    this.#buffered = [];
    for (const data of buffered) this.#write(data);
    if (this.#ended) this.#finishRes();
    // Even a complete response needs the submit read to its end, to answer the agent.
    if (!res.writableNeedDrain) this.#source.resume();
    return this.#pipePromise;
  }

  discard(reason: string): void {
    this.#buffered = [];
    this.#source.cancel(reason);
  }

  readAll(limit: number): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      if (this.#failed) {
        reject(this.#failed);
        return;
      }
      const c = { chunks: [] as Uint8Array[], size: 0, limit };
      this.#collector = c;
      this.#pipe = { resolve: () => resolve(Buffer.concat(c.chunks)), reject };
      const buffered = this.#buffered;
      this.#buffered = [];
      for (const data of buffered) this.deliver(data);
      if (this.#ended) this.#finishCollector();
      this.#source.resume();
    });
  }

  #finishCollector(): void {
    const pipe = this.#pipe;
    this.#pipe = null;
    this.#collector = null;
    pipe?.resolve();
  }
}
