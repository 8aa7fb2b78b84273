import { encodeFrame } from './codec.js';
import type { ResetCodeValue } from './constants.js';
import { DataPump, type PumpSink, type PumpSource } from './data-pump.js';
import { ProtocolError } from './errors.js';
import { TunnelReceiver, type TunnelSink } from './tunnel-receiver.js';

/** The local socket a tunnel joins to its stream: the parts of a Node socket it uses. */
export interface TunnelSocket extends TunnelSink, PumpSource {
  readonly writableEnded: boolean;
  end(): void;
  destroy(): void;
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'drain' | 'end' | 'close', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
}

export interface TunnelOptions {
  streamId: number;
  /** The connection the stream runs on: sends, knows congestion, wakes the tunnel on drain. */
  sink: PumpSink;
  socket: TunnelSocket;
  /** The peer's window for our bytes (its stream window, plus WINDOW that came early). */
  sendWindow: number;
  /** Our window for the peer's bytes. */
  receiveWindow: number;
  /**
   * The local socket closed while the tunnel was open, after its FIN or not (`localEnded`) and
   * after the peer's END or not: the side decides (`finishAfterEnd` when the close only completes
   * a half close, else `reset`).
   */
  onSocketClose(tunnel: Tunnel, localEnded: boolean, peerEnded: boolean): void;
  /** The tunnel is over, `graceful` when both halves ended (the socket was ended, not destroyed). Once. */
  onClosed(graceful: boolean): void;
  /** Bytes read from the local socket (metrics). */
  onLocalBytes?: (bytes: number) => void;
  /** Bytes the peer sent (metrics). */
  onPeerBytes?: (bytes: number) => void;
}

/**
 * An upgraded stream after its 101, on either side: a local socket (the client's at the hub, the
 * upstream's at the agent) joined to the stream's frames both ways under the per-stream windows.
 * Local bytes go out as DATA within the peer's window (the socket is paused while it is used up);
 * the peer's DATA is written to the socket and granted back with WINDOW once the socket took it,
 * so a slow reader on either side holds at most one window here. END is a half close each way;
 * a reset ends it at once by destroying the socket (the far end sees an abnormal close, never a
 * silently truncated one).
 */
export class Tunnel {
  readonly #o: TunnelOptions;
  readonly #pump: DataPump;
  readonly #receiver: TunnelReceiver;
  #sentEnd = false;
  #recvEnd = false;
  #localEnded = false;
  #localClosed = false;
  #closed = false;

  constructor(options: TunnelOptions) {
    const { streamId, sink, socket } = options;
    this.#o = options;
    this.#receiver = new TunnelReceiver({
      streamId,
      window: options.receiveWindow,
      sink: socket,
      send: (b) => sink.send(b),
    });
    this.#pump = new DataPump(streamId, options.sendWindow, sink, socket, () => {
      this.#sentEnd = true;
      this.#maybeDone();
    });
    socket.on('data', this.#onLocalData);
    socket.once('end', () => {
      this.#localEnded = true;
      this.#pump.end();
    });
    socket.on('error', () => {});
    socket.once('close', () => {
      if (!this.#closed) options.onSocketClose(this, this.#localEnded, this.#recvEnd);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  #onLocalData = (chunk: Uint8Array): void => {
    if (this.#closed) return;
    this.#o.onLocalBytes?.(chunk.byteLength);
    this.#pump.push(chunk);
  };

  /** The connection drained. */
  resume(): void {
    this.#pump.resume();
  }

  onWindow(increment: number): void {
    if (!this.#closed) this.#pump.expand(increment);
  }

  onData(data: Uint8Array): void {
    if (this.#closed) return;
    if (this.#recvEnd) {
      throw new ProtocolError('ERR_PROTOCOL_STREAM_STATE', `DATA after END on stream ${this.#o.streamId}`);
    }
    this.#receiver.receive(data);
    this.#o.onPeerBytes?.(data.byteLength);
  }

  /** The peer ended its side: half close toward the local socket. */
  onEnd(): void {
    if (this.#closed || this.#recvEnd) return;
    this.#recvEnd = true;
    this.#receiver.stop();
    this.#o.socket.end();
    this.#maybeDone();
  }

  /**
   * The local socket closed after its FIN: what it sent still goes out, then END; bytes the peer
   * sends from now on have nowhere to go.
   */
  finishAfterEnd(): void {
    this.#localClosed = true;
    this.#maybeDone();
  }

  /** Ends the tunnel with RESET to the peer (none once both halves ended), the socket destroyed. */
  reset(code: ResetCodeValue, message: string): void {
    if (this.#closed) return;
    if (!(this.#sentEnd && this.#recvEnd)) {
      this.#o.sink.send(encodeFrame({ type: 'RESET', streamId: this.#o.streamId, code, message }));
    }
    this.close();
  }

  /** Ends the tunnel without a word to the peer (it reset the stream, or its connection is gone). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pump.stop();
    this.#receiver.stop();
    const { socket } = this.#o;
    socket.off('data', this.#onLocalData);
    const graceful = this.#sentEnd && (this.#recvEnd || this.#localClosed);
    if (!graceful) socket.destroy();
    // both FINs went out; the socket closes itself once its buffer is flushed
    else if (!socket.writableEnded) socket.end();
    this.#o.onClosed(graceful);
  }

  #maybeDone(): void {
    if (this.#sentEnd && (this.#recvEnd || this.#localClosed)) this.close();
  }
}
