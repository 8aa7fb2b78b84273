import type { Socket } from 'node:net';
import { DataPump, encodeFrame, ProtocolError, ResetCode, TunnelReceiver } from '@slime/protocol';

/** What the agent's half of a tunnel needs from its session. */
export interface UpstreamTunnelHost {
  /** The hub's window for bytes toward the client (its `streamWindow`, plus WINDOW seen before the 101). */
  readonly hubWindow: number;
  /** Our window for bytes from the client. */
  readonly agentWindow: number;
  readonly congested: boolean;
  send(bytes: Uint8Array): void;
  waitForDrain(): void;
  /** Both halves ended, or the tunnel was reset: called once. */
  onClosed(): void;
}

/**
 * The agent's half of an upgraded stream: the upstream's socket joined to the stream's frames.
 * Upstream bytes go out as DATA within the hub's window (the socket is paused while it is used up);
 * hub DATA is written to the socket and granted back with WINDOW once the socket took it. END is
 * a half close each way; the upstream's socket failing or closing early sends RESET
 * UPSTREAM_ERROR, and a hub RESET destroys the socket without an answer (the credit came back
 * with the 101 already).
 */
export class UpstreamTunnel {
  readonly #id: number;
  readonly #host: UpstreamTunnelHost;
  readonly #socket: Socket;
  readonly #pump: DataPump;
  readonly #receiver: TunnelReceiver;
  #sentEnd = false;
  #recvEnd = false;
  #upEnded = false;
  #upClosed = false;
  #closed = false;

  constructor(id: number, host: UpstreamTunnelHost, socket: Socket) {
    this.#id = id;
    this.#host = host;
    this.#socket = socket;
    this.#receiver = new TunnelReceiver(id, host.agentWindow, socket, (b) => host.send(b));
    // the host is the pump's sink: it sends, knows congestion and wakes the pump on drain
    this.#pump = new DataPump(id, host.hubWindow, host, socket, () => {
      this.#sentEnd = true;
      this.#maybeDone();
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (!this.#closed) this.#pump.push(chunk);
    });
    socket.once('end', () => {
      this.#upEnded = true;
      this.#pump.end();
    });
    socket.on('error', () => {});
    socket.once('close', () => {
      if (this.#closed) return;
      // The upstream closed after ending its side (a WebSocket's close handshake): what it sent
      // still goes out, then END; bytes the client sends from now on have nowhere to go.
      if (this.#upEnded) {
        this.#upClosed = true;
        if (this.#sentEnd) this.#end();
        return;
      }
      // The upstream went away in the middle: the hub must not wait for the rest.
      host.send(
        encodeFrame({
          type: 'RESET',
          streamId: id,
          code: ResetCode.UPSTREAM_ERROR,
          message: 'upstream closed the upgraded connection',
        }),
      );
      this.#end();
    });
  }

  resume(): void {
    this.#pump.resume();
  }

  onWindow(increment: number): void {
    if (!this.#closed) this.#pump.expand(increment);
  }

  onData(data: Uint8Array): void {
    if (this.#closed) return;
    if (this.#recvEnd)
      throw new ProtocolError('ERR_PROTOCOL_STREAM_STATE', `DATA after END on stream ${this.#id}`);
    this.#receiver.receive(data);
  }

  onEnd(): void {
    if (this.#closed || this.#recvEnd) return;
    this.#recvEnd = true;
    this.#receiver.stop();
    this.#socket.end();
    this.#maybeDone();
  }

  /** The hub reset the stream, or its connection is gone. */
  destroy(): void {
    this.#end();
  }

  #maybeDone(): void {
    if (this.#sentEnd && (this.#recvEnd || this.#upClosed)) this.#end();
  }

  #end(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pump.stop();
    this.#receiver.stop();
    if (this.#sentEnd && (this.#recvEnd || this.#upClosed)) {
      if (!this.#socket.writableEnded) this.#socket.end();
    } else {
      this.#socket.destroy();
    }
    this.#host.onClosed();
  }
}
