import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { HeaderList } from '@slime/protocol';
import { clientGone, HubError } from '../errors.js';
import { endGrpcCall } from '../http/grpc-status.js';
import type { ResponseBody } from '../pipeline/context.js';
import { type BodyProducer, BodyReadable } from './body-readable.js';
import { writeTrailers } from './trailers.js';

// Bytes held for a client that is behind before a producer is told to wait (as BodyReadable's mark).
const HIGH_WATER_MARK = 64 * 1024;

/**
 * The body of a response that arrives in pieces (DATA frames from an agent, the submit of a Go
 * agent), handed to the client writer. Until someone reads, what arrives is held (the producer's
 * window bounds it); a body that is complete by then (most small responses: one DATA and END) is
 * written in one go without a stream. Otherwise each piece is written to the client's response as
 * it arrives, and held only while the response is backpressured: credit goes back for what the
 * response took, so flow control is the client's pace. (A Readable piped into the response did
 * the same at ~15 µs more per stream: the stream's state, pipe()'s listeners and their removal
 * when the client leaves, which every SSE stream of a burst paid.) Read as a Readable (readAll),
 * the body becomes a BodyReadable.
 */
export class StreamResponseBody implements ResponseBody {
  readonly #producer: BodyProducer;
  #held: Uint8Array[] | null = [];
  #readable: BodyReadable | null = null;
  #ended = false;
  #trailers: HeaderList | null = null;
  #failed: HubError | null = null;
  #onBytes: ((bytes: number) => void) | null = null;
  #reading: Promise<unknown> | null = null;
  // the direct writer (pipe() without a Readable): its response, what is held while that response
  // is backpressured, and the pipe's settle functions (null once it settled)
  #res: ServerResponse | null = null;
  #heldBytes = 0;
  #blocked = false;
  #resolve: (() => void) | null = null;
  #reject: ((err: HubError) => void) | null = null;
  #onDrain: (() => void) | null = null;

  constructor(producer: BodyProducer) {
    this.#producer = producer;
  }

  /** Why the body failed (a pipe() after that fails at once); null while it is fine. */
  get failure(): HubError | null {
    return this.#failed;
  }

  /**
   * A piece of the body arrived. Returns false when the producer should wait (nobody reads yet, or
   * the reader is a high-water mark behind): a producer without a window of its own pauses then.
   */
  push(chunk: Uint8Array): boolean {
    if (this.#failed || this.#ended) return false;
    if (this.#readable) return this.#readable.feed(chunk);
    const res = this.#res;
    if (res === null) {
      this.#held?.push(chunk);
      return false;
    }
    // piped and settled: the client left, nothing more reaches it
    if (this.#resolve === null) return false;
    if (!this.#blocked) {
      this.#write(res, chunk);
      return true;
    }
    this.#held?.push(chunk);
    this.#heldBytes += chunk.byteLength;
    return this.#heldBytes < HIGH_WATER_MARK;
  }

  /** The whole body arrived; `trailers` (HTTP/2, or HTTP/1.1 clients that take them) follow it. */
  end(trailers?: HeaderList | null): void {
    if (this.#failed || this.#ended) return;
    this.#ended = true;
    this.#trailers = trailers ?? null;
    this.#readable?.push(null);
    if (this.#res !== null && this.#resolve !== null && !this.#blocked) this.#finish(this.#res);
  }

  /** The body broke: whoever reads it gets `err`; nothing more of it reaches the client. */
  fail(err: HubError): void {
    if (this.#failed) return;
    this.#failed = err;
    this.#held = null;
    if (this.#readable && !this.#readable.destroyed) this.#readable.destroy(err);
    else if (this.#res !== null && this.#resolve !== null) this.#abort(this.#res, err);
  }

  countBytes(onBytes: (bytes: number) => void): void {
    this.#onBytes = onBytes;
  }

  /** The body as a Readable (made on first use; the chunks held so far come first). */
  get readable(): BodyReadable {
    if (this.#readable) return this.#readable;
    const readable = new BodyReadable(this.#producer);
    this.#readable = readable;
    const held = this.#held ?? [];
    this.#held = null;
    for (const chunk of held) readable.feed(chunk);
    if (this.#failed) readable.destroy(this.#failed);
    else if (this.#ended) readable.push(null);
    return readable;
  }

  pipe(res: ServerResponse): Promise<void> {
    if (this.#reading) return this.#reading as Promise<void>;
    const done = this.#failed ? this.#refuse(res, this.#failed) : this.#writeTo(res);
    this.#reading = done;
    return done;
  }

  #refuse(res: ServerResponse, err: HubError): Promise<void> {
    res.destroy(err);
    return Promise.reject(err);
  }

  #writeTo(res: ServerResponse): Promise<void> {
    const onBytes = this.#onBytes;
    if (this.#ended && !this.#readable) {
      // Complete before anyone read: no stream, no backpressure to honour, no credit to give.
      const held = this.#held ?? [];
      this.#held = null;
      if (res.destroyed) return Promise.reject(clientGone());
      for (const chunk of held) {
        onBytes?.(chunk.byteLength);
        res.write(chunk);
      }
      if (this.#trailers) writeTrailers(res, this.#trailers);
      return new Promise<void>((resolve) => res.end(resolve));
    }
    if (this.#readable) return this.#pipeReadable(res, this.#readable, onBytes);
    return new Promise<void>((resolve, reject) => {
      this.#res = res;
      this.#resolve = resolve;
      this.#reject = reject;
      // a client that left before its body started gets no 'close' any more
      if (res.destroyed) {
        this.#abort(res, clientGone());
        return;
      }
      // 'close' comes once: `on` spares the wrapper `once` makes
      res.on('close', () => {
        if (this.#resolve !== null && !res.writableFinished) this.#abort(res, clientGone());
      });
      // What arrived before the pipe follows the head on the next tick, as a piped Readable's
      // first read did: the writer flushes the head alone first.
      this.#held ??= [];
      if (this.#held.length > 0) {
        for (const chunk of this.#held) this.#heldBytes += chunk.byteLength;
        this.#blocked = true;
        process.nextTick(() => this.#flush());
      }
    });
  }

  /** Writes one piece to the client and credits it; false (and waits for 'drain') when it is behind. */
  #write(res: ServerResponse, chunk: Uint8Array): boolean {
    const n = chunk.byteLength;
    this.#onBytes?.(n);
    const ok = res.write(chunk);
    this.#producer.consumed(n);
    if (!ok) {
      this.#blocked = true;
      this.#onDrain ??= () => this.#flush();
      res.once('drain', this.#onDrain);
    }
    return ok;
  }

  /** The client caught up: what was held goes out, then the end if it came meanwhile. */
  #flush(): void {
    const res = this.#res!;
    this.#blocked = false;
    if (this.#resolve === null) return;
    const held = this.#held!;
    while (held.length > 0) {
      const chunk = held.shift()!;
      this.#heldBytes -= chunk.byteLength;
      if (!this.#write(res, chunk)) return;
    }
    if (this.#ended) this.#finish(res);
  }

  #finish(res: ServerResponse): void {
    const resolve = this.#resolve!;
    const reject = this.#reject!;
    this.#resolve = this.#reject = null;
    if (res.destroyed) {
      reject(clientGone());
      return;
    }
    if (this.#trailers) writeTrailers(res, this.#trailers);
    res.end(resolve);
  }

  /** The body broke or the client left before it ended: the producer stops, the pipe fails. */
  #abort(res: ServerResponse, failure: HubError): void {
    const reject = this.#reject!;
    this.#resolve = this.#reject = null;
    this.#held = null;
    this.#producer.cancel(failure.message);
    // on the next tick, as a destroyed Readable's 'error' came
    process.nextTick(() => {
      // a gRPC call ends with the error as its status (UNAVAILABLE...) rather than a reset
      if (!res.writableEnded && !endGrpcCall(res, failure)) res.destroy(failure);
      reject(failure);
    });
  }

  /** A body already read as a Readable (readAll's): piped into the response. */
  #pipeReadable(
    res: ServerResponse,
    readable: BodyReadable,
    onBytes: ((bytes: number) => void) | null,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (onBytes) readable.on('data', (c: Uint8Array) => onBytes(c.byteLength));
      readable.once('end', () => {
        if (res.destroyed) {
          reject(clientGone());
          return;
        }
        if (this.#trailers) writeTrailers(res, this.#trailers);
        res.end(resolve);
      });
      readable.once('error', (err: Error) => {
        const failure = err instanceof HubError ? err : new HubError('ERR_HUB_UPSTREAM_ERROR', err.message);
        // a gRPC call ends with the error as its status (UNAVAILABLE...) rather than a reset
        if (!res.writableEnded && !endGrpcCall(res, failure)) res.destroy(failure);
        reject(failure);
      });
      const gone = () => {
        if (!res.writableFinished && !readable.destroyed) readable.destroy(clientGone());
      };
      // a client that left before its body started gets no 'close' any more
      if (res.destroyed) {
        gone();
        return;
      }
      res.once('close', gone);
      readable.pipe(res, { end: false });
    });
  }

  discard(reason: string): void {
    this.#held = null;
    this.#producer.cancel(reason);
  }

  async readAll(limit: number): Promise<Uint8Array> {
    if (this.#failed) throw this.#failed;
    return readAtMost(this.readable, limit, () => {
      this.#producer.cancel('response body larger than the fallback spool limit');
      return new HubError('ERR_HUB_UPSTREAM_ERROR', `response body exceeds ${limit} bytes`);
    });
  }
}

/**
 * Reads a body into memory, at most `limit` bytes: past it the body is destroyed and the error
 * `tooLarge` gives is thrown.
 */
export async function readAtMost(body: Readable, limit: number, tooLarge: () => Error): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Uint8Array).byteLength;
    if (size > limit) {
      body.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Uint8Array);
  }
  return Buffer.concat(chunks);
}
