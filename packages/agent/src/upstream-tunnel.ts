import type { Socket } from 'node:net';
import { ResetCode, Tunnel } from '@slime/protocol';

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
 * The agent's half of an upgraded stream: the upstream's socket joined to the stream's frames (the
 * shared `Tunnel`). The upstream's socket failing or closing before its FIN sends RESET
 * UPSTREAM_ERROR; a hub RESET destroys the socket without an answer (the credit came back with
 * the 101 already).
 */
export class UpstreamTunnel extends Tunnel {
  constructor(id: number, host: UpstreamTunnelHost, socket: Socket) {
    socket.setNoDelay(true);
    super({
      streamId: id,
      sink: host,
      socket,
      sendWindow: host.hubWindow,
      receiveWindow: host.agentWindow,
      onSocketClose: (t, localEnded) => {
        // After its FIN (a WebSocket's close handshake) the close only completes a half close.
        if (localEnded) t.finishAfterEnd();
        // The upstream went away in the middle: the hub must not wait for the rest.
        else t.reset(ResetCode.UPSTREAM_ERROR, 'upstream closed the upgraded connection');
      },
      onClosed: () => host.onClosed(),
    });
  }

  /** The hub reset the stream, or its connection is gone. */
  destroy(): void {
    this.close();
  }
}
