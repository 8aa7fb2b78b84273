import type { Duplex } from 'node:stream';
import { type DataFrame, ResetCode, type ResetCodeValue, Tunnel } from '@slime/protocol';

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
 * The hub's half of an upgraded stream after the 101: the client's socket joined to the stream's
 * frames (the shared `Tunnel`). RESET, a socket error and a lost agent end it at once by destroying
 * the socket; the client closing before both sides ended resets the stream (CANCEL).
 */
export class HubTunnel {
  readonly #tunnel: Tunnel;
  /** How the tunnel ends unless both halves finished (then `normal`). */
  #how: TunnelEnd = 'client-reset';

  constructor(id: number, host: TunnelHost, socket: Duplex) {
    this.#tunnel = new Tunnel({
      streamId: id,
      sink: host,
      socket,
      sendWindow: host.agentWindow,
      receiveWindow: host.hubWindow,
      onSocketClose: (t, localEnded, peerEnded) => {
        // Both FINs crossed and our END is still on its way out (waiting for window): let it finish.
        if (localEnded && peerEnded) t.finishAfterEnd();
        else this.reset(ResetCode.CANCEL, 'client connection closed');
      },
      onClosed: (graceful) => host.onClosed(graceful ? 'normal' : this.#how),
      onLocalBytes: (n) => host.onBytes('to_upstream', n),
      onPeerBytes: (n) => host.onBytes('to_client', n),
    });
    // the socket was paused while the request waited for its answer
    socket.resume();
  }

  /** The WebSocket drained. */
  resume(): void {
    this.#tunnel.resume();
  }

  onWindow(increment: number): void {
    this.#tunnel.onWindow(increment);
  }

  onData(frame: DataFrame): void {
    this.#tunnel.onData(frame.data);
  }

  /** The agent's side ended (its upstream closed its write side): half close toward the client. */
  onEnd(): void {
    this.#tunnel.onEnd();
  }

  onReset(): void {
    this.#end('agent-reset');
  }

  agentLost(): void {
    this.#end('agent-lost');
  }

  /** Hub-side abort (client gone, shutdown): RESET to the agent, socket destroyed. */
  reset(code: ResetCodeValue, message: string): void {
    this.#how = 'client-reset';
    this.#tunnel.reset(code, message);
  }

  #end(how: TunnelEnd): void {
    if (this.#tunnel.closed) return;
    this.#how = how;
    this.#tunnel.close();
  }
}
