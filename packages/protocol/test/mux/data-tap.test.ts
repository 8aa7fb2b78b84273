import { DataTap, FrameType, Limits } from '@slime/protocol';
import { describe, expect, it } from 'vitest';

/** One WebSocket frame (RFC 6455 §5.2), written here independently of the code under test. */
function wsFrame(o: {
  opcode: number;
  payload: Uint8Array;
  fin?: boolean;
  mask?: number[] | null;
  rsv?: number;
}): Uint8Array {
  const n = o.payload.byteLength;
  const ext = n > 65_535 ? 8 : n > 125 ? 2 : 0;
  const mask = o.mask ?? null;
  const out = new Uint8Array(2 + ext + (mask ? 4 : 0) + n);
  out[0] = ((o.fin ?? true) ? 0x80 : 0) | (o.rsv ?? 0) | o.opcode;
  out[1] = (mask ? 0x80 : 0) | (ext === 8 ? 127 : ext === 2 ? 126 : n);
  let p = 2;
  if (ext === 2) {
    out[p++] = n >>> 8;
    out[p++] = n & 0xff;
  } else if (ext === 8) {
    p += 4;
    for (const shift of [24, 16, 8, 0]) out[p++] = (n >>> shift) & 0xff;
  }
  if (mask) for (const m of mask) out[p++] = m;
  for (let i = 0; i < n; i++) out[p + i] = o.payload[i]! ^ (mask ? mask[i % 4]! : 0);
  return out;
}

/** Our frame envelope and a payload whose bytes depend on their position. */
function frame(type: number, streamId: number, payloadBytes: number, seed = streamId): Uint8Array {
  const out = new Uint8Array(5 + payloadBytes);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, streamId);
  for (let i = 0; i < payloadBytes; i++) out[5 + i] = (i * 31 + seed) & 0xff;
  return out;
}

type Event = { pass: number[] } | { data: number; payload: number[] };

/** What a tap should make of `frames`: each either taken (its stream id and payload) or passed whole. */
function expected(frames: Array<{ wire: Uint8Array; taken?: { streamId: number; payload: Uint8Array } }>) {
  const out: Event[] = [];
  for (const f of frames) {
    const last = out.at(-1);
    if (f.taken) out.push({ data: f.taken.streamId, payload: [...f.taken.payload] });
    else if (last && 'pass' in last) for (const b of f.wire) last.pass.push(b);
    else out.push({ pass: [...f.wire] });
  }
  return out;
}

/** Feeds `wire` to a tap in the given pieces; the tap's output, merged as `expected` writes it. */
function run(peerMasks: boolean, wire: Uint8Array, cuts: number[]): Event[] {
  const out: Event[] = [];
  const tap = new DataTap({
    peerMasks,
    sink: {
      pass(bytes) {
        const last = out.at(-1);
        if (last && 'pass' in last) for (const b of bytes) last.pass.push(b);
        else out.push({ pass: [...bytes] });
        return true;
      },
      data(streamId, piece, frameBytes) {
        const last = out.at(-1);
        if (frameBytes > 0 || !last || !('data' in last)) {
          expect(frameBytes).toBeGreaterThan(0);
          out.push({ data: streamId, payload: [...piece] });
        } else {
          expect(last.data).toBe(streamId);
          for (const b of piece) last.payload.push(b);
        }
        expect(piece.byteLength).toBeGreaterThan(0);
      },
    },
  });
  let at = 0;
  for (const cut of [...cuts, wire.byteLength]) {
    tap.push(wire.subarray(at, cut));
    at = cut;
  }
  return out;
}

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
};

const ZERO = [0, 0, 0, 0];
const data = (streamId: number, bytes: number, mask: number[] | null) => {
  const payload = frame(FrameType.DATA, streamId, bytes);
  return { wire: wsFrame({ opcode: 2, payload, mask }), taken: { streamId, payload: payload.subarray(5) } };
};
const passed = (wire: Uint8Array) => ({ wire });

/** A peer's byte stream with every kind of frame the tap must take or leave, masked as `mask`. */
function mixed(mask: number[] | null) {
  const response = frame(FrameType.RESPONSE, 1, 40);
  return [
    data(1, 300, mask),
    passed(wsFrame({ opcode: 2, payload: response, mask })),
    passed(wsFrame({ opcode: 9, payload: new Uint8Array([1, 2, 3]), mask })), // ping
    data(3, 70_000, mask), // 64-bit length
    data(0xfffffffe, 1, mask), // the smallest DATA, the largest stream id
    passed(wsFrame({ opcode: 2, payload: frame(FrameType.DATA, 5, 0), mask })), // empty DATA: ws and decodeFrame judge it
    passed(wsFrame({ opcode: 2, payload: frame(FrameType.DATA, 5, 10), mask: [1, 2, 3, 4] })), // a real key
    passed(wsFrame({ opcode: 2, payload: frame(FrameType.DATA, 5, 10), mask: mask ? null : ZERO })), // wrongly (un)masked
    passed(wsFrame({ opcode: 2, payload: frame(FrameType.DATA, 5, 10), mask, rsv: 0x40 })), // compressed bit
    // a fragmented message: nothing in it is taken, not even a whole DATA-looking frame inside
    passed(wsFrame({ opcode: 2, payload: frame(FrameType.DATA, 7, 20), mask, fin: false })),
    passed(wsFrame({ opcode: 10, payload: new Uint8Array(0), mask })), // pong between fragments
    passed(wsFrame({ opcode: 2, payload: frame(FrameType.DATA, 7, 20), mask })),
    passed(wsFrame({ opcode: 0, payload: new Uint8Array(30), mask })),
    passed(wsFrame({ opcode: 0, payload: new Uint8Array(30), mask, fin: true })),
    data(9, 1000, mask), // taken again once the message ended
    passed(wsFrame({ opcode: 1, payload: frame(FrameType.DATA, 9, 10), mask })), // text
    data(11, 126, mask), // 16-bit length
  ];
}

describe('DataTap', () => {
  for (const [who, peerMasks, mask] of [
    ['the hub (masked frames from its agent)', true, ZERO],
    ['the agent (unmasked frames from its hub)', false, null],
  ] as const) {
    describe(who, () => {
      const frames = mixed(mask);
      const wire = concat(frames.map((f) => f.wire));
      const want = expected(frames);

      it('takes DATA frames as views and passes everything else whole and in order, read in one piece', () => {
        const got = run(peerMasks, wire, []);
        const sum = (es: Event[]) =>
          es.map((e) => ('pass' in e ? `pass ${e.pass.length}` : `data ${e.data} ${e.payload.length}`));
        expect(sum(got)).toEqual(sum(want));
        expect(got).toEqual(want);
      });

      it('decodes the same however the reads are cut (every cut in two, then random cuts)', () => {
        const head = concat(frames.slice(0, 3).map((f) => f.wire));
        const headWant = expected(frames.slice(0, 3));
        for (let cut = 0; cut <= head.byteLength; cut++)
          expect(run(peerMasks, head, [cut])).toEqual(headWant);
        let seed = 7;
        const random = () => {
          seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
          return seed / 2 ** 31;
        };
        for (let round = 0; round < 40; round++) {
          const cuts: number[] = [];
          for (let at = 0; ; ) {
            // mostly short reads, so headers split at every offset; now and then a long one
            at += random() < 0.8 ? 1 + Math.floor(random() * 24) : Math.floor(random() * 70_000);
            if (at >= wire.byteLength) break;
            cuts.push(at);
          }
          expect(run(peerMasks, wire, cuts)).toEqual(want);
        }
      });

      it('hands a frame split over many reads in as many pieces, each a view of its read', () => {
        const f = data(2, 200_000, mask);
        const reads: Uint8Array[] = [];
        for (let at = 0; at < f.wire.byteLength; at += 65_536) reads.push(f.wire.slice(at, at + 65_536));
        const pieces: Uint8Array[] = [];
        const tap = new DataTap({
          peerMasks,
          sink: { pass: () => expect.fail('nothing passes'), data: (_id, piece) => void pieces.push(piece) },
        });
        for (const r of reads) tap.push(r);
        expect(pieces).toHaveLength(reads.length);
        for (let i = 0; i < pieces.length; i++) expect(pieces[i]!.buffer).toBe(reads[i]!.buffer);
        expect(concat(pieces)).toEqual(f.taken.payload);
      });
    });
  }

  it('leaves a frame above the frame limit to the library, and everything after a close frame', () => {
    const big = wsFrame({
      opcode: 2,
      payload: frame(FrameType.DATA, 1, Limits.MAX_FRAME_BYTES - 4),
      mask: null,
    });
    const close = wsFrame({ opcode: 8, payload: new Uint8Array([0x03, 0xe8]), mask: null });
    const after = data(1, 10, null).wire;
    const wire = concat([big, close, after]);
    expect(run(false, wire, [3, 100_000])).toEqual([{ pass: [...wire] }]);
  });

  it('leaves a 64-bit length beyond 4 GiB, and everything after it, to the library', () => {
    const head = new Uint8Array([0x82, 127, 0, 0, 0, 1, 0, 0, 0, 9, FrameType.DATA, 0, 0, 0, 1]);
    const wire = concat([head, data(1, 10, null).wire]);
    expect(run(false, wire, [4])).toEqual([{ pass: [...wire] }]);
  });

  it('returns false when the library asked for a pause', () => {
    const tap = new DataTap({ peerMasks: false, sink: { pass: () => false, data: () => {} } });
    expect(
      tap.push(concat([data(1, 10, null).wire, wsFrame({ opcode: 9, payload: new Uint8Array(0) })])),
    ).toBe(false);
    expect(tap.push(data(1, 10, null).wire)).toBe(true);
  });

  it('checks its options', () => {
    expect(
      () => new DataTap({ peerMasks: 1 as unknown as boolean, sink: { pass: () => true, data: () => {} } }),
    ).toThrow(/peerMasks/);
    expect(() => new DataTap({ peerMasks: true, sink: {} as never })).toThrow(/sink/);
  });
});
