import { Readable } from 'node:stream';
import type { HeaderList, ReceiveWindow } from '@slime/protocol';

/**
 * The request body as the upstream client reads it. DATA frames are pushed in; WINDOW credit goes
 * back to the hub only for bytes the upstream actually took, so a slow upstream slows the client.
 */
export class RequestBody extends Readable {
  readonly #window: ReceiveWindow;
  readonly #sendWindow: (increment: number) => void;
  #pushed = 0;
  /** Bytes the upstream had taken at the last _read. */
  #taken = 0;
  /** The hub's TRAILERS for this body (protocol 3), set when it ended with them. */
  trailers: HeaderList | undefined;

  constructor(window: ReceiveWindow, sendWindow: (increment: number) => void) {
    super({ highWaterMark: 64 * 1024 });
    this.#window = window;
    this.#sendWindow = sendWindow;
  }

  /** DATA arrived: throws ERR_PROTOCOL_FLOW_CONTROL past the window granted to the hub. */
  feed(chunk: Uint8Array): void {
    this.#window.received(chunk.byteLength);
    this.#pushed += chunk.byteLength;
    this.push(chunk);
  }

  finish(trailers?: HeaderList): void {
    this.trailers = trailers;
    this.push(null);
  }

  /**
   * Every read reports what was taken. Node calls `_read` only after a push, so bytes read after
   * the hub's last DATA (it waits for WINDOW) would otherwise never be credited.
   */
  override read(size?: number): ReturnType<Readable['read']> {
    const chunk = super.read(size);
    this._read();
    return chunk;
  }

  override _read(): void {
    const taken = this.#pushed - this.readableLength;
    const n = taken - this.#taken;
    if (n <= 0) return;
    this.#taken = taken;
    const increment = this.#window.consumed(n);
    if (increment > 0) this.#sendWindow(increment);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#window.release();
    cb(err);
  }
}
