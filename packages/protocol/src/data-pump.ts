import { encodeData, encodeFrame } from './codec.js';
import { Limits } from './constants.js';
import { expandWindow } from './flow.js';
import type { HeaderList } from './frames.js';

/** Where a pump's frames go, and whether that connection can take more now. */
export interface PumpSink {
  send(bytes: Uint8Array): void;
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

  #pump(): void {
    if (this.#stopped) return;
    while (this.#pending.length > 0 && this.#window > 0) {
      if (this.#sink.congested) {
        this.#sink.waitForDrain();
        break;
      }
      const head = this.#pending[0]!;
      const n = Math.min(head.byteLength, this.#window, Limits.MAX_DATA_BYTES);
      if (n === head.byteLength) {
        this.#pending.shift();
        this.#sink.send(encodeData(this.#streamId, head));
      } else {
        this.#pending[0] = head.subarray(n);
        this.#sink.send(encodeData(this.#streamId, head.subarray(0, n)));
      }
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
