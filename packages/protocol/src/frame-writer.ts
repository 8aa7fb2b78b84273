import { encodeData, encodeDataHead } from './codec.js';
import { type Resumable, WriteBudget } from './write-budget.js';

/** The part of a socket that can hold writes back and release them as one. */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * The socket under a WebSocket, for DATA written around the WebSocket library: its frame header
 * and ours in one small write, then the payload as it is (no copy into a frame, no masking copy).
 * Only valid while the library queues nothing of its own (no permessage-deflate, no Blobs).
 */
export interface RawFrameSocket {
  write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean;
}

export interface RawDataPath {
  socket: RawFrameSocket;
  /** A client (the agent) masks its frames: with a zero key here. */
  masked: boolean;
  /** Whether the WebSocket is open (else DATA goes through `send`, which reports the failure). */
  open(): boolean;
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
  /** Writes DATA payloads without copying them (see RawFrameSocket); absent: through `send`. */
  raw?: RawDataPath | undefined;
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
    this.#cork();
    this.#o.send(bytes, this.queued(bytes.byteLength));
  }

  /**
   * Writes one DATA frame whose payload is `chunks` back to back (`length` bytes) and returns its
   * size on the wire. On the raw path the chunks go to the socket as they are (the caller must not
   * reuse them); otherwise they are copied into one frame for `send`.
   */
  writeData(streamId: number, chunks: readonly Uint8Array[], length: number): number {
    const raw = this.#o.raw;
    if (!raw?.open()) {
      let payload = chunks[0]!;
      if (chunks.length > 1) {
        payload = new Uint8Array(length);
        let at = 0;
        for (const c of chunks) {
          payload.set(c, at);
          at += c.byteLength;
        }
      }
      const frame = encodeData(streamId, payload);
      this.write(frame);
      return frame.byteLength;
    }
    const head = encodeDataHead(streamId, length, raw.masked);
    const n = head.byteLength + length;
    this.#cork();
    const done = this.queued(n);
    raw.socket.write(head);
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) raw.socket.write(chunks[i]!);
    raw.socket.write(chunks[last]!, () => done());
    return n;
  }

  /**
   * Writes bytes already framed as WebSocket messages (encodeWholeResponse) straight to the socket
   * under the WebSocket, in this turn's corked write. False, writing nothing, without that path.
   */
  writeFramed(wire: Uint8Array): boolean {
    const raw = this.#o.raw;
    if (!raw?.open()) return false;
    this.#cork();
    raw.socket.write(wire, this.queued(wire.byteLength));
    return true;
  }

  #cork(): void {
    if (!this.#corked && this.#o.socket) {
      this.#corked = true;
      this.#o.socket.cork();
      this.#o.schedule(this.#uncork);
    }
  }

  /** Writes what is held now: before a close or terminate, nothing queued may be lost. */
  flush(): void {
    this.#uncork();
  }
}
