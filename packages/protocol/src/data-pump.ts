import { encodeData, encodeFrame } from './codec.js';
import { Limits } from './constants.js';
import { expandWindow } from './flow.js';
import type { HeaderList } from './frames.js';

/**
 * Most payload bytes gathered into one `sendData` call from chunks that piled up. Bigger frames
 * cost the receiver fewer messages but hold each byte until the whole frame arrived; a quarter MiB
 * is under a millisecond at the rates a connection reaches. (The FrameWriter merges consecutive
 * calls of one turn further, up to MERGE_DATA_BYTES.)
 */
const GATHER_BYTES = 256 * 1024;

/** Where a pump's frames go, and whether that connection can take more now. */
export interface PumpSink {
  send(bytes: Uint8Array): void;
  /**
   * Sends one DATA frame whose payload is `chunks` back to back (`length` bytes in all), without
   * copying them, when the connection can.
   */
  sendData?(streamId: number, chunks: readonly Uint8Array[], length: number): void;
  /** True while the connection has more unflushed bytes than its high-water mark. */
  readonly congested: boolean;
  /** Asks the connection to call `pump.resume()` once it has drained. */
  waitForDrain(): void;
}

/** The body source being pumped (a client request, an upstream response). */
export interface PumpSource {
  pause(): void;
  resume(): void;
}

/**
 * Sends one direction of a stream's body as DATA frames within the peer's window and the
 * connection's backpressure, then END. Both ends use it: the hub for request bodies, the agent for
 * response bodies. Pure bookkeeping: the I/O lives behind the sink and the source.
 */
export class DataPump {
  readonly #streamId: number;
  readonly #sink: PumpSink;
  readonly #source: PumpSource | null;
  readonly #onEnd: () => void;
  #window: number;
  #pending: Uint8Array[] = [];
  #ended = false;
  #trailers: HeaderList | null = null;
  #stopped = false;

  constructor(
    streamId: number,
    window: number,
    sink: PumpSink,
    source: PumpSource | null,
    onEnd: () => void,
  ) {
    this.#streamId = streamId;
    this.#window = window;
    this.#sink = sink;
    this.#source = source;
    this.#onEnd = onEnd;
  }

  /** Queues a chunk of body and sends what the window allows. */
  push(chunk: Uint8Array): void {
    if (this.#stopped) return;
    this.#pending.push(chunk);
    this.#pump();
  }

  /**
   * The source ended: END goes out once everything pending has been sent, or TRAILERS in its
   * place when `trailers` has fields (only on a version-3 connection: the caller checks).
   */
  end(trailers?: HeaderList): void {
    if (trailers !== undefined && trailers.length > 0) this.#trailers = trailers;
    this.#ended = true;
    this.#pump();
  }

  /** The peer granted more window (a WINDOW frame). */
  expand(increment: number): void {
    if (this.#stopped) return;
    this.#window = expandWindow(this.#window, increment);
    this.#pump();
  }

  /** The connection drained. */
  resume(): void {
    this.#pump();
  }

  /** Nothing more is sent: the stream was reset or closed. Pending bytes are dropped. */
  stop(): void {
    this.#stopped = true;
    this.#pending = [];
  }

  /**
   * Sends what is pending, up to the window and GATHER_BYTES, as one DATA frame without copying.
   * Chunks pile up while the window or the socket holds the pump back; one frame for all of them
   * saves the receiver a message, a decode and a write per chunk. Returns the bytes sent.
   */
  #sendGathered(): number {
    const limit = Math.min(this.#window, GATHER_BYTES);
    const pending = this.#pending;
    const chunks: Uint8Array[] = [];
    let total = 0;
    let taken = 0;
    while (taken < pending.length && total < limit) {
      const head = pending[taken]!;
      const room = limit - total;
      if (head.byteLength <= room) {
        chunks.push(head);
        total += head.byteLength;
        taken++;
      } else {
        chunks.push(head.subarray(0, room));
        pending[taken] = head.subarray(room);
        total += room;
      }
    }
    pending.splice(0, taken);
    this.#sink.sendData?.(this.#streamId, chunks, total);
    return total;
  }

  #pump(): void {
    if (this.#stopped) return;
    while (this.#pending.length > 0 && this.#window > 0) {
      if (this.#sink.congested) {
        this.#sink.waitForDrain();
        break;
      }
      if (this.#sink.sendData) {
        this.#window -= this.#sendGathered();
        continue;
      }
      const head = this.#pending[0]!;
      const n = Math.min(head.byteLength, this.#window, Limits.MAX_DATA_BYTES);
      let chunk = head;
      if (n === head.byteLength) {
        this.#pending.shift();
      } else {
        this.#pending[0] = head.subarray(n);
        chunk = head.subarray(0, n);
      }
      this.#sink.send(encodeData(this.#streamId, chunk));
      this.#window -= n;
    }
    if (this.#pending.length > 0) {
      this.#source?.pause();
    } else if (this.#ended) {
      this.#stopped = true;
      const trailers = this.#trailers;
      this.#sink.send(
        encodeFrame(
          trailers
            ? { type: 'TRAILERS', streamId: this.#streamId, headers: trailers }
            : { type: 'END', streamId: this.#streamId },
        ),
      );
      this.#onEnd();
    } else {
      this.#source?.resume();
    }
  }
}
