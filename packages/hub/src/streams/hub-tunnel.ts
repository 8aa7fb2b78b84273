import type { Duplex } from 'node:stream';
import {
  type DataFrame,
  DataPump,
  encodeFrame,
  ResetCode,
  type ResetCodeValue,
  TunnelReceiver,
} from '@slime/protocol';
import { HubError } from '../errors.js';

/** How an upgraded stream ended, for metrics and logs. */
export type TunnelEnd = 'normal' | 'client-reset' | 'agent-reset' | 'agent-lost';

/** What a tunnel needs from the agent connection it runs on. */
export interface TunnelHost {
  readonly agentWindow: number;
  readonly hubWindow: number;
  readonly congested: boolean;
  send(bytes: Uint8Array): void;
  waitForDrain(): void;
  /** Bytes passed through, per direction (metrics). */
  onBytes(direction: 'to_upstream' | 'to_client', bytes: number): void;
  /** The tunnel is over on both sides; called once. */
  onClosed(how: TunnelEnd): void;
}

/**
 * The hub's half of an upgraded stream after the 101: the client's socket and the stream's frames
 * joined both ways under the per-stream windows. Client bytes go out as DATA within the agent's
 * window (the socket is paused while it is used up); agent DATA is written to the socket and
 * granted back with WINDOW only once the socket took it, so a slow reader on either side holds at
 * most one window in the hub. END is a half close (FIN) in either direction; RESET, a socket error
 * and a lost agent end the tunnel at once by destroying the socket (the client sees an abnormal
 * close, never a silently truncated one).
 */
export class HubTunnel {
  readonly #id: number;
  readonly #host: TunnelHost;
  readonly #socket: Duplex;
  readonly #pump: DataPump;
  readonly #receiver: TunnelReceiver;
  #sentEnd = false;
  #recvEnd = false;
  #clientEnded = false;
  #closed = false;

  constructor(id: number, host: TunnelHost, socket: Duplex) {
    this.#id = id;
    this.#host = host;
    this.#socket = socket;
    this.#receiver = new TunnelReceiver(id, host.hubWindow, socket, (b) => host.send(b));
    // the host is the pump's sink: it sends, knows congestion and wakes the pump on drain
    this.#pump = new DataPump(id, host.agentWindow, host, socket, () => {
      this.#sentEnd = true;
      this.#maybeDone();
    });
    socket.on('data', this.#onClientData);
    socket.once('end', () => {
      this.#clientEnded = true;
      this.#pump.end();
    });
    socket.on('error', () => {});
    socket.once('close', () => {
      // Both FINs crossed and our END is still on its way out (waiting for window): let it finish.
      if (this.#clientEnded && this.#recvEnd && !this.#closed) return;
      this.#reset(ResetCode.CANCEL, 'client connection closed', 'client-reset');
    });
    // the socket was paused while the request waited for its answer
    socket.resume();
  }

  #onClientData = (chunk: Buffer): void => {
    if (this.#closed) return;
    this.#host.onBytes('to_upstream', chunk.byteLength);
    this.#pump.push(chunk);
  };

  /** The WebSocket drained. */
  resume(): void {
    this.#pump.resume();
  }

  onWindow(increment: number): void {
    if (!this.#closed) this.#pump.expand(increment);
  }

  onData(frame: DataFrame): void {
    if (this.#closed) return;
    if (this.#recvEnd) throw new HubError('ERR_HUB_UPSTREAM_ERROR', 'DATA after END on an upgraded stream');
    this.#receiver.receive(frame.data);
    this.#host.onBytes('to_client', frame.data.byteLength);
  }

  /** The agent's side ended (its upstream closed its write side): half close toward the client. */
  onEnd(): void {
    if (this.#closed || this.#recvEnd) return;
    this.#recvEnd = true;
    this.#receiver.stop();
    this.#socket.end();
    this.#maybeDone();
  }

  onReset(): void {
    this.#end('agent-reset');
  }

  agentLost(): void {
    this.#end('agent-lost');
  }

  /** Hub-side abort (client gone, shutdown): RESET to the agent, socket destroyed. */
  reset(code: ResetCodeValue, message: string): void {
    this.#reset(code, message, 'client-reset');
  }

  #reset(code: ResetCodeValue, message: string, how: TunnelEnd): void {
    if (this.#closed) return;
    // Both halves ended already: the socket's close is the normal end, nothing to tell the agent.
    if (!(this.#sentEnd && this.#recvEnd)) {
      this.#host.send(encodeFrame({ type: 'RESET', streamId: this.#id, code, message }));
    }
    this.#end(this.#sentEnd && this.#recvEnd ? 'normal' : how);
  }

  #maybeDone(): void {
    if (this.#sentEnd && this.#recvEnd) this.#end('normal');
  }

  #end(how: TunnelEnd): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pump.stop();
    this.#receiver.stop();
    this.#socket.off('data', this.#onClientData);
    if (how === 'normal') {
      // both FINs went out; the socket closes itself once its buffer is flushed
      if (!this.#socket.writableEnded) this.#socket.end();
    } else {
      this.#socket.destroy();
    }
    this.#host.onClosed(how);
  }
}
