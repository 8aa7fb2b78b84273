import type { RawDataPath, RawFrameSocket } from '@slime/protocol';
import type WebSocket from 'ws';

/**
 * DATA payloads written straight to the socket under `ws` (see RawFrameSocket in the protocol):
 * ws would copy each payload into a frame buffer of its own. Sound because our sockets never
 * compress (perMessageDeflate: false), so ws queues nothing that our writes could overtake.
 */
export function rawDataPath(ws: WebSocket, masked: boolean): RawDataPath | undefined {
  const socket = (ws as unknown as { _socket?: RawFrameSocket })._socket;
  if (!socket || typeof socket.write !== 'function') return undefined;
  return { socket, masked, open: () => ws.readyState === ws.OPEN };
}
