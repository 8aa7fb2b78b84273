import { Readable } from 'node:stream';
import { type HeaderList, windowUpdateDue } from '@slime/protocol';

/**
 * The request body as the upstream client reads it. DATA frames are pushed in; WINDOW credit goes
 * back to the hub only for bytes the upstream actually took, so a slow upstream slows the client.
 */
export class RequestBody extends Readable {
  readonly #window: number;
  readonly #sendWindow: (increment: number) => void;
  #pushed = 0;
  #acked = 0;
  /** The hub's TRAILERS for this body (protocol 3), set when it ended with them. */
  trailers: HeaderList | undefined;

  constructor(window: number, sendWindow: (increment: number) => void) {
    super({ highWaterMark: 64 * 1024 });
    this.#window = window;
    this.#sendWindow = sendWindow;
  }

  /** Bytes received but not yet acknowledged with WINDOW. */
  get unacked(): number {
    return this.#pushed - this.#acked;
  }

  feed(chunk: Uint8Array): void {
    this.#pushed += chunk.byteLength;
    this.push(chunk);
  }

  finish(trailers?: HeaderList): void {
    this.trailers = trailers;
    this.push(null);
  }

  override _read(): void {
    const consumed = this.#pushed - this.readableLength - this.#acked;
    if (windowUpdateDue(consumed, this.#window)) {
      this.#acked += consumed;
      this.#sendWindow(consumed);
    }
  }
}
