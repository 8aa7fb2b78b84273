import type { Corkable, RawDataPath } from '../frame-writer.js';

/** What a socket reports to the endpoint that owns it; its functions need no `this` (pass them on as they are). */
export interface MuxSocketEvents {
  /** One message arrived; a frame when `binary`. */
  message(data: Uint8Array, binary: boolean): void;
  /**
   * A piece of a DATA frame taken off the byte stream without a copy (webSocketMux's DataTap), in
   * order with `message`. `frameBytes` is the whole frame's size on its first piece, 0 on the rest.
   */
  data(streamId: number, piece: Uint8Array, frameBytes: number): void;
  /** A ping or a pong arrived: the peer is alive. */
  alive(): void;
  /** The socket is closed: after the close handshake, a terminate or a network failure. */
  closed(code: number, reason: string): void;
  /** The socket failed; `closed` follows. */
  error(err: Error): void;
}

/**
 * The message socket under a multiplexed endpoint: a WebSocket in practice (`webSocketMux`), an
 * in-memory pair in tests. Injected, so the endpoint stays pure and runs without a network.
 */
export interface MuxSocket {
  /** Starts reporting to `events`; the endpoint calls it once, when it is built. */
  listen(events: MuxSocketEvents): void;
  /** Sends one binary message; `done` runs once it is flushed (or failed). */
  send(bytes: Uint8Array, done: () => void): void;
  ping(): void;
  /** Starts the close handshake. */
  close(code: number, reason: string): void;
  /** Drops the connection at once. */
  terminate(): void;
  /** The byte stream under the messages, when it can be corked (the frames of a turn leave as one write). */
  readonly corkable?: Corkable | undefined;
  /** DATA payloads written around the message layer without a copy (see RawDataPath). */
  readonly raw?: RawDataPath | undefined;
}

/** The clock and timers an endpoint runs on: injected, so tests drive heartbeats with fake time. */
export interface MuxTimers {
  now(): number;
  /** Runs `fn` after the current turn of the event loop (setImmediate): corked frames leave then. */
  schedule(fn: () => void): void;
  /** A one-shot timer that must not keep the process alive (Node: unref'd). */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}
