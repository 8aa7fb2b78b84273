import type { Corkable, RawDataPath, RawFrameSocket } from '../frame-writer.js';
import { DataTap } from './data-tap.js';
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

// ws's frame parser (its Receiver), private too: the socket hands it every chunk through `write`.
interface ReceiverLike {
  write?: (chunk: Uint8Array) => boolean;
  _state?: number;
  _bufferedBytes?: number;
  _fragmented?: number;
  _allowSynchronousEvents?: boolean;
}
type WithReceiver = WebSocketLike & { _receiver?: ReceiverLike | undefined };

const BINARY = { binary: true } as const;
const reasonText = new TextDecoder();

export interface WebSocketMuxOptions {
  /** Whether we mask our frames: true for a client (the agent), false for a server (the hub). */
  masked: boolean;
  /**
   * Take DATA frames off the socket before ws gathers them into one buffer (DataTap): their
   * payloads reach the endpoint as views into the bytes read, without ws's copy. Default true;
   * false leaves every frame to ws (as before; for A/B measurements and tests).
   */
  tapData?: boolean;
}

/**
 * A `ws` WebSocket as the socket of a multiplexed endpoint. DATA payloads are written straight to
 * the socket under it (RawDataPath): ws would copy each into a frame buffer of its own. Sound
 * because our sockets never compress (perMessageDeflate: false), so ws queues nothing that our
 * writes could overtake. `masked`: a client (the agent) masks its frames, with a zero key here.
 */
export function webSocketMux(ws: WebSocketLike, options: WebSocketMuxOptions): MuxSocket {
  if (typeof options?.masked !== 'boolean') throw new TypeError('options.masked must be a boolean');
  if (options.tapData !== undefined && typeof options.tapData !== 'boolean')
    throw new TypeError('options.tapData must be a boolean');
  const tapData = options.tapData ?? true;
  const under = (ws as WithSocket)._socket;
  const raw: RawDataPath | undefined =
    under && typeof under.write === 'function'
      ? { socket: under, masked: options.masked, open: () => ws.readyState === ws.OPEN }
      : undefined;
  return {
    corkable: under,
    raw,
    listen(events: MuxSocketEvents): void {
      if (tapData) tapReceiver(ws, !options.masked, events);
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

/**
 * Puts a DataTap in front of ws's frame parser: every chunk the socket reads passes the tap first
 * (ws's socket listener and its close path both call `write`). Done only while the parser sits at
 * a frame boundary with nothing buffered, as it does before the first frame, and emits messages
 * synchronously (ws's default); otherwise (or with a ws whose internals look different) ws keeps
 * every frame. Returns whether the tap is in place.
 */
function tapReceiver(ws: WebSocketLike, peerMasks: boolean, events: MuxSocketEvents): boolean {
  const receiver = (ws as WithReceiver)._receiver;
  if (typeof receiver?.write !== 'function') return false;
  if (receiver._state !== 0 || receiver._bufferedBytes !== 0 || receiver._fragmented !== 0) return false;
  // ws must emit a message while it is handed the frame, or DATA would overtake what came before
  if (receiver._allowSynchronousEvents !== true) return false;
  const pass = receiver.write.bind(receiver);
  const tap = new DataTap({
    peerMasks,
    sink: {
      pass,
      // ws emits nothing more once it failed or started closing; neither does the tap
      data: (streamId, piece, frameBytes) => {
        if (ws.readyState === ws.OPEN) events.data(streamId, piece, frameBytes);
      },
    },
  });
  receiver.write = (chunk) => tap.push(chunk);
  return true;
}
