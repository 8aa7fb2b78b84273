import type { Corkable, RawDataPath, RawFrameSocket } from '../frame-writer.js';
import type { MuxSocket, MuxSocketEvents } from './mux-socket.js';

/**
 * The parts of a `ws` WebSocket (npm package ws 8) the adapter uses, described by shape: the
 * protocol package imports no library and no Node types, the hub and the agent pass theirs in.
 */
export interface WebSocketLike {
  readonly readyState: number;
  readonly OPEN: number;
  send(data: Uint8Array, options: { binary: boolean }, cb: (err?: Error) => void): void;
  ping(): void;
  close(code: number, reason: string): void;
  terminate(): void;
  on(event: string, listener: (...args: never[]) => void): unknown;
}

// ws keeps its net.Socket private: corking it batches our frames, writing to it skips ws's copy.
type WithSocket = WebSocketLike & { _socket?: (Corkable & RawFrameSocket) | undefined };

const BINARY = { binary: true } as const;
const reasonText = new TextDecoder();

/**
 * A `ws` WebSocket as the socket of a multiplexed endpoint. DATA payloads are written straight to
 * the socket under it (RawDataPath): ws would copy each into a frame buffer of its own. Sound
 * because our sockets never compress (perMessageDeflate: false), so ws queues nothing that our
 * writes could overtake. `masked`: a client (the agent) masks its frames, with a zero key here.
 */
export function webSocketMux(ws: WebSocketLike, options: { masked: boolean }): MuxSocket {
  if (typeof options?.masked !== 'boolean') throw new TypeError('options.masked must be a boolean');
  const under = (ws as WithSocket)._socket;
  const raw: RawDataPath | undefined =
    under && typeof under.write === 'function'
      ? { socket: under, masked: options.masked, open: () => ws.readyState === ws.OPEN }
      : undefined;
  return {
    corkable: under,
    raw,
    listen(events: MuxSocketEvents): void {
      ws.on('message', events.message);
      ws.on('ping', () => events.alive());
      ws.on('pong', () => events.alive());
      ws.on('close', (code: number, reason: Uint8Array) => events.closed(code, reasonText.decode(reason)));
      ws.on('error', (err: Error) => events.error(err));
    },
    send: (bytes, done) => ws.send(bytes, BINARY, done),
    ping: () => ws.ping(),
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
  };
}
