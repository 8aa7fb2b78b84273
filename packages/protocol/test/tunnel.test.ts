import { EventEmitter } from 'node:events';
import {
  decodeFrame,
  type Frame,
  ProtocolError,
  ResetCode,
  Tunnel,
  type TunnelOptions,
} from '@slime/protocol';
import { describe, expect, it } from 'vitest';

/** A local socket in memory: takes `room` bytes before it reports full, records ends and destroys. */
class FakeSocket extends EventEmitter {
  written: Uint8Array[] = [];
  writableEnded = false;
  destroyed = false;
  paused = false;
  room = Number.POSITIVE_INFINITY;
  write(data: Uint8Array): boolean {
    this.written.push(data);
    return this.written.reduce((n, c) => n + c.byteLength, 0) <= this.room;
  }
  end(): void {
    this.writableEnded = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

function tunnel(over: Partial<TunnelOptions> = {}) {
  const socket = new FakeSocket();
  const sent: Frame[] = [];
  const ends: boolean[] = [];
  const closes: Array<[boolean, boolean]> = [];
  const t = new Tunnel({
    streamId: 9,
    sink: { congested: false, send: (b) => sent.push(decodeFrame(b)), waitForDrain() {} },
    socket,
    sendWindow: 10,
    receiveWindow: 8,
    onSocketClose: (tun, localEnded, peerEnded) => {
      closes.push([localEnded, peerEnded]);
      if (localEnded) tun.finishAfterEnd();
      else tun.reset(ResetCode.CANCEL, 'gone');
    },
    onClosed: (graceful) => ends.push(graceful),
    ...over,
  });
  return { t, socket, sent, ends, closes };
}

describe('Tunnel', () => {
  it('sends local bytes as DATA within the window, pausing the socket until WINDOW comes', () => {
    const { t, socket, sent } = tunnel();
    socket.emit('data', new Uint8Array(6));
    socket.emit('data', new Uint8Array(6));
    expect(sent.map((f) => f.type === 'DATA' && f.data.byteLength)).toEqual([6, 4]);
    expect(socket.paused).toBe(true);
    t.onWindow(10);
    expect(socket.paused).toBe(false);
    expect(sent.at(-1)).toMatchObject({ type: 'DATA', streamId: 9 });
  });

  it('writes peer DATA to the socket and grants it back once the socket took it', () => {
    const { t, socket, sent } = tunnel();
    socket.room = 4;
    t.onData(new Uint8Array(5));
    expect(sent).toEqual([]);
    socket.emit('drain');
    expect(sent).toEqual([{ type: 'WINDOW', streamId: 9, increment: 5 }]);
    expect(() => t.onData(new Uint8Array(9))).toThrow(
      expect.objectContaining({ code: 'ERR_PROTOCOL_FLOW_CONTROL' }),
    );
  });

  it('half closes each way and ends gracefully once both ends are done', () => {
    const { t, socket, sent, ends } = tunnel();
    t.onEnd();
    expect(socket.writableEnded).toBe(true);
    expect(() => t.onData(new Uint8Array(1))).toThrow(ProtocolError);
    socket.emit('end');
    expect(sent.at(-1)).toEqual({ type: 'END', streamId: 9 });
    expect(ends).toEqual([true]);
    expect(t.closed).toBe(true);
    expect(socket.destroyed).toBe(false);
  });

  it('lets the side decide on a socket that closes early: here RESET and a destroyed socket', () => {
    const { socket, sent, ends, closes } = tunnel();
    socket.emit('close');
    expect(closes).toEqual([[false, false]]);
    expect(sent).toEqual([{ type: 'RESET', streamId: 9, code: ResetCode.CANCEL, message: 'gone' }]);
    expect(socket.destroyed).toBe(true);
    expect(ends).toEqual([false]);
  });

  it('finishes after the local FIN when the socket closes: what it sent still goes out, then END', () => {
    const { t, socket, sent, ends } = tunnel({ sendWindow: 4 });
    socket.emit('data', new Uint8Array(6));
    socket.emit('end');
    socket.emit('close');
    expect(ends).toEqual([]);
    t.onWindow(2);
    expect(sent.map((f) => f.type)).toEqual(['DATA', 'DATA', 'END']);
    expect(ends).toEqual([true]);
  });

  it('a close without a word destroys the socket and ignores everything after', () => {
    const { t, socket, sent, ends } = tunnel();
    t.close();
    t.close();
    socket.emit('data', new Uint8Array(3));
    t.onData(new Uint8Array(3));
    expect(sent).toEqual([]);
    expect(socket.destroyed).toBe(true);
    expect(ends).toEqual([false]);
  });
});
