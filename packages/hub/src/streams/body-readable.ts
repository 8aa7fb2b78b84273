import { Readable } from 'node:stream';

/** What feeds a response body, and hears how fast it is read. */
export interface BodyProducer {
  /**
   * The consumer took `bytes` more of what was pushed: room for as many more (WINDOW to an agent,
   * a paused Go submit resumed).
   */
  consumed(bytes: number): void;
  /** Nobody wants the rest (the client left, the body was discarded or outgrew a spool). */
  cancel(reason: string): void;
}

// A WebSocket message holds up to a few hundred KiB; one is enough to keep a fast client busy.
const HIGH_WATER_MARK = 64 * 1024;

/**
 * A response body as a Node Readable whose flow control is Node's backpressure: the producer
 * pushes what arrives, and hears of every byte the consumer took, so credit goes back only for
 * bytes a client actually read. Pushes beyond the high-water mark are bounded by the producer's
 * own window (an agent cannot send more than it was granted).
 */
export class BodyReadable extends Readable {
  readonly #producer: BodyProducer;
  #pushed = 0;
  /** Bytes the consumer had taken when the producer last heard of it. */
  #taken = 0;

  constructor(producer: BodyProducer, highWaterMark = HIGH_WATER_MARK) {
    super({ highWaterMark });
    this.#producer = producer;
  }

  /** Adds a chunk; false once the consumer is a high-water mark behind (a pausable producer waits). */
  feed(chunk: Uint8Array): boolean {
    this.#pushed += chunk.byteLength;
    return this.push(chunk);
  }

  /**
   * Every read reports what was taken. Node calls `_read` only after a push, so a producer that
   * waits for credit would never hear of the bytes read after its last chunk without this.
   */
  override read(size?: number): ReturnType<Readable['read']> {
    const chunk = super.read(size);
    this.#report();
    return chunk;
  }

  override _read(): void {
    this.#report();
  }

  #report(): void {
    const taken = this.#pushed - this.readableLength;
    const n = taken - this.#taken;
    if (n <= 0) return;
    this.#taken = taken;
    this.#producer.consumed(n);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // A consumer that gives up early stops the producer too.
    if (!this.readableEnded) this.#producer.cancel(err?.message ?? 'response body abandoned');
    cb(err);
  }
}
