import { encodeFrame } from './codec.js';
import { consumeWindow, windowUpdateDue } from './flow.js';

/** What a tunnel receiver writes to: the part of a Node socket it uses (no Node types here). */
export interface TunnelSink {
  /** false when the sink's buffer is full: the bytes are queued, 'drain' follows. */
  write(data: Uint8Array): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export interface TunnelReceiverOptions {
  streamId: number;
  /** Our window for the stream: what the peer may send before a WINDOW. */
  window: number;
  sink: TunnelSink;
  /** Sends a frame (the WINDOW updates) on the stream's connection. */
  send(bytes: Uint8Array): void;
}

/**
 * The receiving half of an upgraded stream, on either side: DATA written to the local socket, and
 * the window granted back with WINDOW only once the socket took the bytes, so a slow reader holds
 * at most one window in this process. A peer that overruns the window gets ProtocolError
 * ERR_PROTOCOL_FLOW_CONTROL (the connection closes 4002).
 */
export class TunnelReceiver {
  readonly #o: TunnelReceiverOptions;
  #left: number;
  #consumed = 0;
  #awaitingDrain = 0;
  #stopped = false;

  constructor(options: TunnelReceiverOptions) {
    this.#o = options;
    this.#left = options.window;
  }

  receive(data: Uint8Array): void {
    this.#left = consumeWindow(this.#left, data.byteLength);
    if (this.#o.sink.write(data)) this.#ack(data.byteLength);
    else {
      if (this.#awaitingDrain === 0) this.#o.sink.once('drain', this.#onDrain);
      this.#awaitingDrain += data.byteLength;
    }
  }

  /** END arrived or the tunnel closed: no WINDOW is sent any more. */
  stop(): void {
    this.#stopped = true;
  }

  #onDrain = (): void => {
    const n = this.#awaitingDrain;
    this.#awaitingDrain = 0;
    this.#ack(n);
  };

  #ack(bytes: number): void {
    this.#consumed += bytes;
    if (this.#stopped || !windowUpdateDue(this.#consumed, this.#o.window)) return;
    this.#o.send(encodeFrame({ type: 'WINDOW', streamId: this.#o.streamId, increment: this.#consumed }));
    this.#left += this.#consumed;
    this.#consumed = 0;
  }
}
