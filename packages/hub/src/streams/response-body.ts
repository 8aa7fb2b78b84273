import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { HeaderList } from '@slime/protocol';
import { clientGone, HubError } from '../errors.js';
import { endGrpcCall } from '../http/grpc-status.js';
import type { ResponseBody } from '../pipeline/context.js';
import { type BodyProducer, BodyReadable } from './body-readable.js';
import { writeTrailers } from './trailers.js';

/**
 * The body of a response that arrives in pieces (DATA frames from an agent, the submit of a Go
 * agent), handed to the client writer. Until someone reads, what arrives is held (the producer's
 * window bounds it); a body that is complete by then (most small responses: one DATA and END) is
 * written in one go without a stream. Otherwise it becomes a BodyReadable piped into the client's
 * response, so flow control is Node's backpressure: credit goes back as the client reads.
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
    this.#held?.push(chunk);
    return false;
  }

  /** The whole body arrived; `trailers` (HTTP/2, or HTTP/1.1 clients that take them) follow it. */
  end(trailers?: HeaderList | null): void {
    if (this.#failed || this.#ended) return;
    this.#ended = true;
    this.#trailers = trailers ?? null;
    this.#readable?.push(null);
  }

  /** The body broke: whoever reads it gets `err`; nothing more of it reaches the client. */
  fail(err: HubError): void {
    if (this.#failed) return;
    this.#failed = err;
    this.#held = null;
    if (this.#readable && !this.#readable.destroyed) this.#readable.destroy(err);
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
    const readable = this.readable;
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
