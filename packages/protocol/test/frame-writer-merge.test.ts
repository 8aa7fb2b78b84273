import { describe, expect, it } from 'vitest';
import { MERGE_DATA_BYTES } from '../src/frame-writer.js';
import { decodeFrame, encodeFrame, FrameType, FrameWriter } from '../src/index.js';

/** A corked raw socket that records what reaches it, with the scheduler run by hand. */
function setup() {
  const writes: Uint8Array[] = [];
  const viaSend: Uint8Array[] = [];
  const callbacks: Array<() => void> = [];
  const scheduled: Array<() => void> = [];
  let open = true;
  let corked = 0;
  const socket = {
    cork: () => {
      corked++;
    },
    uncork: () => {
      corked--;
    },
    write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean {
      writes.push(chunk);
      if (cb) callbacks.push(() => cb());
      return true;
    },
  };
  const writer = new FrameWriter({
    send: (b, done) => {
      viaSend.push(b);
      writes.push(b);
      callbacks.push(done);
    },
    socket,
    schedule: (fn) => scheduled.push(fn),
    highWater: 1 << 20,
    lowWater: 0,
    raw: { socket, masked: false, open: () => open },
  });
  const endTurn = () => {
    for (const fn of scheduled.splice(0)) fn();
  };
  const flushAll = () => {
    for (const cb of callbacks.splice(0)) cb();
  };
  return {
    writer,
    writes,
    viaSend,
    endTurn,
    flushAll,
    close: () => {
      open = false;
    },
    corked: () => corked,
  };
}

/** The DATA frames in `writes`: each is a head (WebSocket header + envelope) then its payload. */
function dataFrames(writes: Uint8Array[]): Array<{ streamId: number; bytes: number[] }> {
  const frames: Array<{ streamId: number; bytes: number[] }> = [];
  let i = 0;
  while (i < writes.length) {
    const head = writes[i]!;
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const len7 = head[1]! & 0x7f;
    const [total, env] =
      len7 === 126 ? [view.getUint16(2), 4] : len7 === 127 ? [Number(view.getBigUint64(2)), 10] : [len7, 2];
    expect(head[env]).toBe(FrameType.DATA);
    const streamId = view.getUint32(env + 1);
    const parts: Uint8Array[] = [];
    let got = 0;
    for (i++; got < total - 5; i++) {
      parts.push(writes[i]!);
      got += writes[i]!.byteLength;
    }
    expect(got).toBe(total - 5);
    const bytes = new Uint8Array(got);
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.byteLength;
    }
    frames.push({ streamId, bytes: Array.from(bytes) });
  }
  return frames;
}

describe('FrameWriter merging DATA within a cork period', () => {
  it('writes consecutive DATA of one stream as one frame at the end of the turn, chunks uncopied', () => {
    const t = setup();
    const a = new Uint8Array([1, 2]);
    const b = new Uint8Array([3]);
    t.writer.writeData(7, [a], 2);
    t.writer.writeData(7, [b], 1);
    expect(t.writes).toHaveLength(0); // nothing before the turn ends: it would not leave earlier
    expect(t.writer.unflushed).toBe(3); // but counted at once, for backpressure
    t.endTurn();
    expect(dataFrames(t.writes)).toEqual([{ streamId: 7, bytes: [1, 2, 3] }]);
    expect(t.writes[1]).toBe(a);
    expect(t.writes[2]).toBe(b);
    expect(t.corked()).toBe(0);
    t.flushAll();
    expect(t.writer.unflushed).toBe(0);
  });

  it('keeps the order of frames: another stream or a control frame ends the merge', () => {
    const t = setup();
    t.writer.writeData(1, [new Uint8Array([1])], 1);
    t.writer.writeData(3, [new Uint8Array([2])], 1);
    t.writer.writeData(1, [new Uint8Array([3])], 1);
    const end = encodeFrame({ type: 'END', streamId: 1 });
    t.writer.write(end);
    t.writer.writeData(1, [new Uint8Array([4])], 1);
    t.endTurn();
    const last = t.writes.indexOf(end);
    expect(dataFrames(t.writes.slice(0, last))).toEqual([
      { streamId: 1, bytes: [1] },
      { streamId: 3, bytes: [2] },
      { streamId: 1, bytes: [3] },
    ]);
    expect(dataFrames(t.writes.slice(last + 1))).toEqual([{ streamId: 1, bytes: [4] }]);
  });

  it('writes held DATA before bytes framed elsewhere (a whole response) that follow it', () => {
    const t = setup();
    t.writer.writeData(1, [new Uint8Array([1])], 1);
    const wire = new Uint8Array([0x82, 0]); // any framed bytes: the writer passes them on as they are
    expect(t.writer.writeFramed(wire)).toBe(true);
    t.endTurn();
    const at = t.writes.indexOf(wire);
    expect(dataFrames(t.writes.slice(0, at))).toEqual([{ streamId: 1, bytes: [1] }]);
    expect(at).toBe(t.writes.length - 1);
  });

  it('starts a new frame rather than exceed MERGE_DATA_BYTES', () => {
    const t = setup();
    const big = new Uint8Array(MERGE_DATA_BYTES - 10);
    t.writer.writeData(5, [big], big.byteLength);
    t.writer.writeData(5, [new Uint8Array(11)], 11);
    t.writer.writeData(5, [new Uint8Array(4)], 4);
    t.writer.flush();
    const frames = dataFrames(t.writes);
    expect(frames.map((f) => f.bytes.length)).toEqual([MERGE_DATA_BYTES - 10, 15]);
  });

  it('hands held DATA to send, copied into a frame, when the WebSocket closed before the turn ended', () => {
    const t = setup();
    t.writer.writeData(9, [new Uint8Array([1, 2])], 2);
    t.writer.writeData(9, [new Uint8Array([3])], 1);
    t.close();
    t.endTurn();
    expect(t.viaSend).toHaveLength(1);
    expect(decodeFrame(t.viaSend[0]!)).toMatchObject({
      type: 'DATA',
      streamId: 9,
      data: new Uint8Array([1, 2, 3]),
    });
    t.flushAll();
    expect(t.writer.unflushed).toBe(0);
  });

  it('resumes waiting streams only once the merged frame is flushed', () => {
    const t = setup();
    const resumed: string[] = [];
    t.writer.writeData(1, [new Uint8Array(600 * 1024)], 600 * 1024);
    t.writer.writeData(3, [new Uint8Array(600 * 1024)], 600 * 1024);
    expect(t.writer.congested).toBe(true);
    t.writer.wait({ resume: () => resumed.push('w') });
    t.endTurn();
    expect(resumed).toEqual([]);
    t.flushAll();
    expect(resumed).toEqual(['w']);
  });
});
