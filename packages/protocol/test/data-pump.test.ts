import { DataPump, decodeFrame, type Frame, Limits } from '@slime/protocol';
import { describe, expect, it } from 'vitest';

function harness(window: number) {
  const sent: Frame[] = [];
  const source = {
    paused: false,
    pause() {
      source.paused = true;
    },
    resume() {
      source.paused = false;
    },
  };
  const sink = {
    congested: false,
    drainWaits: 0,
    send: (b: Uint8Array) => sent.push(decodeFrame(b)),
    waitForDrain() {
      sink.drainWaits++;
    },
  };
  let ended = 0;
  const pump = new DataPump(3, window, sink, source, () => ended++);
  const bytes = () => sent.reduce((n, f) => n + (f.type === 'DATA' ? f.data.byteLength : 0), 0);
  return { pump, sent, source, sink, bytes, ended: () => ended };
}

describe('DataPump', () => {
  it('sends within the window, pauses the source, and resumes it when the window grows', () => {
    const h = harness(10);
    h.pump.push(new Uint8Array(6));
    h.pump.push(new Uint8Array(6));
    expect(h.bytes()).toBe(10);
    expect(h.source.paused).toBe(true);
    h.pump.expand(5);
    expect(h.bytes()).toBe(12);
    expect(h.source.paused).toBe(false);
    h.pump.end();
    expect(h.sent.at(-1)).toEqual({ type: 'END', streamId: 3 });
    expect(h.ended()).toBe(1);
  });

  it('holds END until everything pending was sent, and splits chunks at the frame limit', () => {
    const h = harness(Limits.MAX_WINDOW);
    h.pump.push(new Uint8Array(Limits.MAX_DATA_BYTES + 5));
    h.pump.end();
    expect(h.sent.map((f) => f.type)).toEqual(['DATA', 'DATA', 'END']);
    expect(h.bytes()).toBe(Limits.MAX_DATA_BYTES + 5);
  });

  it('waits for the connection to drain while it is congested, and sends nothing after stop()', () => {
    const h = harness(100);
    h.sink.congested = true;
    h.pump.push(new Uint8Array(4));
    h.pump.end();
    expect(h.sent).toEqual([]);
    expect(h.sink.drainWaits).toBeGreaterThan(0);
    h.sink.congested = false;
    h.pump.resume();
    expect(h.sent.map((f) => f.type)).toEqual(['DATA', 'END']);
    const s = harness(100);
    s.pump.stop();
    s.pump.push(new Uint8Array(4));
    s.pump.end();
    expect(s.sent).toEqual([]);
  });
});
