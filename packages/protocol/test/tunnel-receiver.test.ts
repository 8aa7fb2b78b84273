import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../src/codec.js';
import { TunnelReceiver, type TunnelSink } from '../src/tunnel-receiver.js';

/** A sink that takes `room` bytes before it reports full, and drains on demand. */
function fakeSink(room: number) {
  const written: number[] = [];
  let buffered = 0;
  let onDrain: (() => void) | undefined;
  const sink: TunnelSink = {
    write(data) {
      written.push(data.byteLength);
      buffered += data.byteLength;
      return buffered <= room;
    },
    once(_event, listener) {
      onDrain = listener;
    },
  };
  return {
    sink,
    written,
    drain() {
      buffered = 0;
      const fn = onDrain;
      onDrain = undefined;
      fn?.();
    },
  };
}

const windowsOf = (sent: Uint8Array[]) =>
  sent.map((b) => decodeFrame(b)).map((f) => (f.type === 'WINDOW' ? f.increment : Number.NaN));

describe('TunnelReceiver', () => {
  it('grants the window back once half of it was written, and only when the socket took the bytes', () => {
    const sent: Uint8Array[] = [];
    const s = fakeSink(10);
    const r = new TunnelReceiver({ streamId: 3, window: 20, sink: s.sink, send: (b) => sent.push(b) });
    r.receive(new Uint8Array(6));
    expect(sent).toHaveLength(0);
    r.receive(new Uint8Array(6)); // the sink is over its room: held until drain
    expect(sent).toHaveLength(0);
    s.drain();
    expect(windowsOf(sent)).toEqual([12]);
    expect(decodeFrame(sent[0]!).streamId).toBe(3);
  });

  it('refuses bytes beyond the window with ERR_PROTOCOL_FLOW_CONTROL', () => {
    const s = fakeSink(0); // never takes anything: no WINDOW comes back
    const r = new TunnelReceiver({ streamId: 1, window: 8, sink: s.sink, send: () => {} });
    r.receive(new Uint8Array(8));
    expect(() => r.receive(new Uint8Array(1))).toThrow(
      expect.objectContaining({ code: 'ERR_PROTOCOL_FLOW_CONTROL' }),
    );
  });

  it('sends no WINDOW after stop()', () => {
    const sent: Uint8Array[] = [];
    const r = new TunnelReceiver({
      streamId: 1,
      window: 4,
      sink: fakeSink(100).sink,
      send: (b) => sent.push(b),
    });
    r.stop();
    r.receive(new Uint8Array(4));
    expect(sent).toHaveLength(0);
  });
});
