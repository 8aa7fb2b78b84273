import { decodeFrame } from '../codec.js';
import { CloseCode, FRAME_HEADER_BYTES } from '../constants.js';
import { checkDataFrame } from '../decode-frame.js';
import { closeCodeFor, closeReason, ProtocolError } from '../errors.js';
import { FrameWriter } from '../frame-writer.js';
import type { Frame, HeaderList } from '../frames.js';
import { encodeWholeResponse } from '../whole-response.js';
import type { Resumable } from '../write-budget.js';
import { heartbeatDue } from './heartbeat.js';
import {
  checkMuxOptions,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_HIGH_WATER,
  DEFAULT_LOW_WATER,
  type MuxEndpointOptions,
} from './mux-options.js';
import type { MuxSocket, MuxTimers } from './mux-socket.js';
import { StreamTable } from './stream-table.js';

export type { MuxEndpointOptions } from './mux-options.js';

/** `hello` until the handshake, `draining` after a GOAWAY either way, `closed` for good. */
export type MuxState = 'hello' | 'ready' | 'draining' | 'closed';

/** The role on top of an endpoint: the hub's agent connection, or the agent's session. */
export interface MuxHandler<S> {
  /** One frame from the peer (the opening frame first). Throws (a ProtocolError, or the role's own error) on a violation. */
  onFrame(frame: Frame): void;
  /** A message broke the rules (`onFrame` threw, or it was no frame): log it, return the close reason. */
  onFrameError(err: unknown): string;
  /** The connection is over (closed by either side, or lost): `streams` were open on it. Called once. */
  onClosed(code: number, reason: string, streams: S[]): void;
  onSocketError?(err: Error): void;
}

/** The stream side of the endpoint: what it resumes once the socket drained. */
export type MuxStream = Resumable;

/**
 * One end of a multiplexed connection, for either side of the protocol: the frame writer (frames
 * of a turn batched into one write, DATA without copies, backpressure), the stream table with its
 * late-frame rule, heartbeats, and the close with its terminate deadline. What the frames mean
 * belongs to the role (`MuxHandler`); the socket and the timers are injected (`createMuxEndpoint`).
 */
export class MuxEndpoint<S extends MuxStream> {
  readonly streams = new StreamTable<S>();
  readonly #socket: MuxSocket;
  readonly #timers: MuxTimers;
  readonly #handler: MuxHandler<S>;
  readonly #writer: FrameWriter<S>;
  readonly #timing: { heartbeatMs: number; heartbeatTimeoutMs: number };
  readonly #closeTimeoutMs: number;
  readonly #onSent: ((bytes: number) => void) | undefined;
  readonly #onReceived: ((bytes: number) => void) | undefined;
  readonly #opening: 'HELLO' | 'WELCOME';
  #state: MuxState = 'hello';
  #lastSeen: number;
  #lastPing: number;
  #closeTimer: unknown;
  #ended = false;

  /** Use `createMuxEndpoint`, which checks the options. */
  constructor(options: MuxEndpointOptions<S>) {
    const { socket, timers } = options;
    this.#socket = socket;
    this.#timers = timers;
    this.#handler = options.handler;
    this.#timing = { heartbeatMs: options.heartbeatMs, heartbeatTimeoutMs: options.heartbeatTimeoutMs };
    this.#closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.#onSent = options.onSent;
    this.#onReceived = options.onReceived;
    this.#opening = options.opening;
    this.#writer = new FrameWriter<S>({
      // bound once: the frame path makes no extra call per frame
      send: socket.send.bind(socket),
      socket: socket.corkable,
      schedule: timers.schedule.bind(timers),
      highWater: options.highWater ?? DEFAULT_HIGH_WATER,
      lowWater: options.lowWater ?? DEFAULT_LOW_WATER,
      raw: socket.raw,
    });
    this.#lastSeen = timers.now();
    this.#lastPing = (options.firstPingAt ?? Number.NEGATIVE_INFINITY) - options.heartbeatMs;
    socket.listen({
      message: (data, binary) => this.#message(data, binary),
      data: (streamId, piece, frameBytes) => this.#data(streamId, piece, frameBytes),
      alive: () => {
        this.#lastSeen = this.#timers.now();
      },
      closed: (code, reason) => {
        if (this.#closeTimer !== undefined) this.#timers.clearTimeout(this.#closeTimer);
        this.#closeTimer = undefined;
        this.abandon(code, reason);
      },
      error: (err) => this.#handler.onSocketError?.(err),
    });
  }

  get state(): MuxState {
    return this.#state;
  }

  /** The handshake is done (`ready`), or no new streams will come (`draining`). */
  enter(state: 'ready' | 'draining'): void {
    if (this.#state !== 'closed') this.#state = state;
  }

  /** When the peer was last heard from (any message, ping or pong). */
  get lastSeen(): number {
    return this.#lastSeen;
  }

  /** True while more than the high-water mark is unflushed: streams stop reading their sources. */
  get congested(): boolean {
    return this.#writer.congested;
  }

  send(bytes: Uint8Array): void {
    if (this.#state === 'closed') return;
    this.#onSent?.(bytes.byteLength);
    this.#writer.write(bytes);
  }

  /** One DATA frame, its payload written as it is (no copy into a frame, no masking copy). */
  sendData(streamId: number, chunks: readonly Uint8Array[], length: number): void {
    if (this.#state === 'closed') return;
    const n = this.#writer.writeData(streamId, chunks, length);
    this.#onSent?.(n);
  }

  /**
   * A complete response (RESPONSE, DATA unless `length` is 0, END) in one write to the socket
   * under the WebSocket. False when the socket has no such path (or is closed): nothing was sent,
   * the caller sends the frames one by one.
   */
  sendWholeResponse(
    streamId: number,
    status: number,
    headers: HeaderList,
    body: readonly Uint8Array[],
    length: number,
  ): boolean {
    const raw = this.#socket.raw;
    if (this.#state === 'closed' || raw === undefined) return false;
    const wire = encodeWholeResponse(streamId, status, headers, body, length, raw.masked);
    if (!this.#writer.writeFramed(wire)) return false;
    this.#onSent?.(wire.byteLength);
    return true;
  }

  /** Writes what is held back now: before a close or terminate, nothing queued may be lost. */
  flush(): void {
    this.#writer.flush();
  }

  /** `stream.resume()` runs once the socket drained below the low-water mark. */
  waitForDrain(stream: S): void {
    this.#writer.wait(stream);
  }

  /** The stream ended: it leaves the table and waits for no drain. */
  forget(id: number, stream: S): boolean {
    this.#writer.forget(stream);
    return this.streams.delete(id);
  }

  /** Pings when due; `drop` when the peer was silent past the timeout (the role terminates). */
  heartbeat(now: number): 'drop' | 'ping' | 'none' {
    const due = heartbeatDue(now, this.#lastSeen, this.#lastPing, this.#timing);
    if (due === 'ping') {
      this.#lastPing = now;
      this.#socket.ping();
    }
    return due;
  }

  /** Starts the close handshake; the connection is over for the role at once. */
  close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    // DATA merged in this turn leaves before the close frame (after it, the WebSocket refuses it)
    this.#writer.flush();
    this.#socket.close(code, closeReason(reason));
    // the close frame goes out now: a terminate may follow within this turn (shutdown)
    this.#writer.flush();
    // The handshake can hang on a frozen peer; the socket goes away regardless.
    this.#closeTimer = this.#timers.setTimeout(() => this.#socket.terminate(), this.#closeTimeoutMs);
    this.#end(code, reason);
  }

  /** Drops the socket without a handshake (a dead peer); what was queued is written first. */
  terminate(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#writer.flush();
    this.#socket.terminate();
    this.#end(code, reason);
  }

  /** The socket is gone (or given up on elsewhere): the streams on it are abandoned. Idempotent. */
  abandon(code: number, reason: string): void {
    this.#state = 'closed';
    this.#end(code, reason);
  }

  #end(code: number, reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#writer.clear();
    this.#handler.onClosed(code, reason, this.streams.drain());
  }

  /** A piece of a DATA frame the socket took off the stream (see MuxSocketEvents.data). */
  #data(streamId: number, piece: Uint8Array, frameBytes: number): void {
    if (frameBytes > 0) {
      this.#lastSeen = this.#timers.now();
      this.#onReceived?.(frameBytes);
    }
    if (this.#state === 'closed') return;
    try {
      // what decodeFrame checks of a DATA frame, once per frame
      if (frameBytes > 0) checkDataFrame(streamId, frameBytes - FRAME_HEADER_BYTES);
      if (this.#state === 'hello') {
        throw new ProtocolError('ERR_PROTOCOL_STREAM_STATE', `DATA before ${this.#opening}`);
      }
      this.#handler.onFrame({ type: 'DATA', streamId, data: piece });
    } catch (err) {
      const reason = this.#handler.onFrameError(err);
      this.close(err instanceof ProtocolError ? closeCodeFor(err) : CloseCode.PROTOCOL_ERROR, reason);
    }
  }

  #message(data: Uint8Array, binary: boolean): void {
    this.#lastSeen = this.#timers.now();
    this.#onReceived?.(data.byteLength);
    if (this.#state === 'closed') return;
    try {
      if (!binary) throw new ProtocolError('ERR_PROTOCOL_BAD_VALUE', 'text message on the connection');
      const frame = decodeFrame(data);
      if (this.#state === 'hello' && frame.type !== this.#opening) {
        throw new ProtocolError('ERR_PROTOCOL_STREAM_STATE', `${frame.type} before ${this.#opening}`);
      }
      this.#handler.onFrame(frame);
    } catch (err) {
      const reason = this.#handler.onFrameError(err);
      this.close(err instanceof ProtocolError ? closeCodeFor(err) : CloseCode.PROTOCOL_ERROR, reason);
    }
  }
}

/**
 * Builds an endpoint on `options.socket`; throws TypeError or RangeError naming a bad option.
 *
 * @example
 * ```ts
 * const mux = createMuxEndpoint({ socket: webSocketMux(ws, { masked: true }), timers, handler,
 *   opening: 'WELCOME', heartbeatMs: 0, heartbeatTimeoutMs: 15_000 });
 * mux.send(encodeFrame({ type: 'CREDIT', streamId: 0, count: 4 }));
 * ```
 */
export function createMuxEndpoint<S extends MuxStream>(options: MuxEndpointOptions<S>): MuxEndpoint<S> {
  checkMuxOptions(options);
  return new MuxEndpoint(options);
}
