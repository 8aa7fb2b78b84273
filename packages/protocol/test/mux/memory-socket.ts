import type { MuxSocket, MuxSocketEvents } from '@slime/protocol';

/** One end of an in-memory message socket pair, with what a test needs to steer and inspect it. */
export interface MemorySocket extends MuxSocket {
  /** Messages this end sent, in order. */
  readonly sent: Uint8Array[];
  readonly pings: number;
  /** What close() was called with, if it was. */
  readonly closedWith: { code: number; reason: string } | null;
  /** Whether terminate() was called. */
  readonly terminated: boolean;
  /** Completions of sends not yet flushed (with `holdFlush`): call one to flush a message. */
  readonly pending: Array<() => void>;
  /** Sends stay unflushed until the test runs `pending` (a slow network). */
  holdFlush: boolean;
  /** A frozen peer: delivers nothing, answers no ping, never finishes a close handshake. */
  frozen: boolean;
  /** Delivers a message to this end as the peer would (a text message when `binary` is false). */
  deliver(data: Uint8Array, binary?: boolean): void;
  /** The socket closes under this end (network failure, peer closed). */
  drop(code: number, reason: string): void;
}

/**
 * Two MuxSockets joined in memory: a message sent on one is delivered to the other in a
 * microtask, as a WebSocket delivers it in a later turn; pings are answered with pongs; a close
 * handshake completes on both ends unless the peer is frozen.
 */
export function memorySocketPair(): [MemorySocket, MemorySocket] {
  const a = memorySocket();
  const b = memorySocket();
  a.peer = b;
  b.peer = a;
  return [a.socket, b.socket];
}

interface End {
  socket: MemorySocket;
  peer: End | null;
  events: MuxSocketEvents | null;
  closed: boolean;
}

function memorySocket(): End {
  const end: End = { socket: null as unknown as MemorySocket, peer: null, events: null, closed: false };
  const closeBoth = (code: number, reason: string) => {
    for (const e of [end, end.peer]) {
      if (!e || e.closed) continue;
      e.closed = true;
      queueMicrotask(() => e.events?.closed(code, reason));
    }
  };
  const state = {
    sent: [] as Uint8Array[],
    pings: 0,
    closedWith: null as MemorySocket['closedWith'],
    terminated: false,
    pending: [] as Array<() => void>,
    holdFlush: false,
    frozen: false,
  };
  end.socket = Object.assign(state, {
    listen(events: MuxSocketEvents) {
      if (end.events) throw new Error('listen twice');
      end.events = events;
    },
    send(bytes: Uint8Array, done: () => void) {
      if (end.closed) return done();
      state.sent.push(bytes);
      const peer = end.peer;
      if (peer && !peer.socket.frozen) queueMicrotask(() => peer.closed || peer.events?.message(bytes, true));
      if (state.holdFlush) state.pending.push(done);
      else done();
    },
    ping() {
      state.pings++;
      const peer = end.peer;
      if (end.closed || !peer || peer.socket.frozen) return;
      queueMicrotask(() => {
        peer.events?.alive();
        end.events?.alive();
      });
    },
    close(code: number, reason: string) {
      state.closedWith = { code, reason };
      if (!end.peer?.socket.frozen) closeBoth(code, reason);
    },
    terminate() {
      state.terminated = true;
      closeBoth(1006, '');
    },
    deliver(data: Uint8Array, binary = true) {
      end.events?.message(data, binary);
    },
    drop(code: number, reason: string) {
      closeBoth(code, reason);
    },
  }) as unknown as MemorySocket;
  return end;
}
