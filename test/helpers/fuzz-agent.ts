import { once } from 'node:events';
import { decodeFrame, type Frame } from '@slime/protocol';
import WebSocket from 'ws';

/** Wakes waiters whenever something they may be waiting for happened. */
export class Pulse {
  #waiters: Array<() => void> = [];

  notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves once `pred()` holds; checked now and after every notify. */
  async until(pred: () => boolean): Promise<void> {
    while (!pred()) await new Promise<void>((r) => this.#waiters.push(r));
  }
}

type RawSocket = { cork(): void; uncork(): void; write(b: Buffer): void; destroyed: boolean };

const socketOf = (ws: WebSocket) => (ws as unknown as { _socket?: RawSocket })._socket;

/**
 * Sends messages in one socket write, so the hub reads them in one chunk and handles them in one
 * turn of its event loop: nothing it started for the first (a promise, a timer) runs in between.
 */
export function burst(ws: WebSocket, messages: readonly Uint8Array[]): void {
  const socket = socketOf(ws);
  socket?.cork();
  for (const m of messages) ws.send(m, { binary: true });
  socket?.uncork();
}

export interface FuzzAgentConn {
  ws: WebSocket;
  /** Every frame the hub sent, in order. */
  frames: Frame[];
  /** Hub messages that did not decode: the hub must never send one. */
  undecodable: string[];
  /** Set once the connection closed: the code the hub sent (1006 when none). */
  closed: { code: number; reason: string } | null;
  pulse: Pulse;
  /** Sends one WebSocket message: binary for bytes, text for a string. */
  send(message: Uint8Array | string): void;
  /** Writes bytes under the WebSocket framing, straight to the TCP socket. */
  writeSocket(bytes: Buffer): void;
  /** Holds writes back until `uncork`, which sends them as one burst (see `burst`). */
  cork(): void;
  uncork(): void;
  /**
   * A ping round trip: once the pong is back, the hub has handled every message sent before the
   * ping, and what it sent in answer has arrived (its frames and pongs share one ordered socket).
   * False when the connection closed instead.
   */
  sync(): Promise<boolean>;
  /** Closes our side (1000) and resolves once the connection is gone. */
  close(): Promise<void>;
}

/** Opens a bare agent WebSocket to the hub; nothing is sent until the caller sends it. */
export async function connectFuzzAgent(hubUrl: string, token: string): Promise<FuzzAgentConn> {
  const ws = new WebSocket(`${hubUrl.replace('http', 'ws')}/_slime/agent`, {
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
  });
  const pulse = new Pulse();
  let corked = false;
  const conn: FuzzAgentConn = {
    ws,
    frames: [],
    undecodable: [],
    closed: null,
    pulse,
    send(message) {
      if (ws.readyState === WebSocket.OPEN) ws.send(message, { binary: typeof message !== 'string' });
    },
    writeSocket(bytes) {
      const socket = socketOf(ws);
      if (socket && !socket.destroyed) socket.write(bytes);
    },
    cork() {
      if (!corked) socketOf(ws)?.cork();
      corked = true;
    },
    uncork() {
      if (corked) socketOf(ws)?.uncork();
      corked = false;
    },
    async sync() {
      conn.uncork();
      if (conn.closed || ws.readyState !== WebSocket.OPEN) return false;
      let ponged = false;
      ws.once('pong', () => {
        ponged = true;
        pulse.notify();
      });
      ws.ping();
      await pulse.until(() => ponged || conn.closed !== null);
      return ponged && conn.closed === null;
    },
    async close() {
      conn.uncork();
      if (!conn.closed) {
        if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'fuzz run over');
        else ws.terminate();
      }
      await pulse.until(() => conn.closed !== null);
    },
  };
  ws.on('message', (data: Buffer) => {
    try {
      conn.frames.push(decodeFrame(data));
    } catch (err) {
      conn.undecodable.push((err as Error).message);
    }
    pulse.notify();
  });
  ws.on('error', () => {});
  ws.on('close', (code: number, reason: Buffer) => {
    conn.closed = { code, reason: reason.toString() };
    pulse.notify();
  });
  await once(ws, 'open');
  return conn;
}
