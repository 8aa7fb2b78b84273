import { type Resumable, WriteBudget } from './write-budget.js';

/** The part of a socket that can hold writes back and release them as one. */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

export interface FrameWriterOptions {
  /** Hands one frame to the WebSocket; `done` once it is flushed. */
  send: (bytes: Uint8Array, done: () => void) => void;
  /** The socket under the WebSocket, when it can be corked. */
  socket: Corkable | undefined;
  /** Runs `fn` after the current turn of the event loop (setImmediate). */
  schedule: (fn: () => void) => void;
  highWater: number;
  lowWater: number;
}

/**
 * Writes frames for either end of the protocol. Frames written in one turn of the event loop
 * (REQUEST, DATA and END of a small request; many streams' DATA) leave in one socket write
 * instead of one each: about 20% less CPU per small request (hub, agent and upstream in one
 * process, autocannon 32 connections: 556-622 against 677-746 µs per request). The unflushed
 * bytes are counted as in `WriteBudget`. Pure: the caller injects the socket and the scheduler.
 */
export class FrameWriter<W extends Resumable = Resumable> extends WriteBudget<W> {
  readonly #o: FrameWriterOptions;
  #corked = false;
  readonly #uncork = () => {
    if (!this.#corked) return;
    this.#corked = false;
    this.#o.socket?.uncork();
  };

  constructor(options: FrameWriterOptions) {
    super(options.highWater, options.lowWater);
    this.#o = options;
  }

  write(bytes: Uint8Array): void {
    if (!this.#corked && this.#o.socket) {
      this.#corked = true;
      this.#o.socket.cork();
      this.#o.schedule(this.#uncork);
    }
    this.#o.send(bytes, this.queued(bytes.byteLength));
  }

  /** Writes what is held now: before a close or terminate, nothing queued may be lost. */
  flush(): void {
    this.#uncork();
  }
}
