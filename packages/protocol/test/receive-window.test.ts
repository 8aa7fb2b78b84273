import {
  DataPump,
  decodeFrame,
  encodeDataHead,
  type Frame,
  FrameWriter,
  ProtocolError,
  ReceiveWindow,
  WindowBudget,
} from '@slime/protocol';
import { describe, expect, it } from 'vitest';

function clock() {
  const c = { t: 0, now: () => c.t };
  return c;
}

describe('ReceiveWindow', () => {
  it('grants back consumed bytes in one WINDOW once half the window was consumed', () => {
    const c = clock();
    const w = new ReceiveWindow({ initial: 100, budget: null, now: c.now });
    w.received(100);
    expect(w.credit).toBe(0);
    expect(w.consumed(30)).toBe(0);
    expect(w.consumed(19)).toBe(0);
    expect(w.consumed(1)).toBe(50);
    expect(w.credit).toBe(50);
    expect(w.size).toBe(100);
  });

  it('rejects bytes beyond what was granted with ERR_PROTOCOL_FLOW_CONTROL', () => {
    const w = new ReceiveWindow({ initial: 100, budget: null, now: () => 0 });
    w.received(60);
    expect(() => w.received(41)).toThrow(ProtocolError);
    try {
      w.received(41);
    } catch (err) {
      expect((err as ProtocolError).code).toBe('ERR_PROTOCOL_FLOW_CONTROL');
    }
  });

  it('doubles the window while halves drain quickly, up to its max, and not when they drain slowly', () => {
    const c = clock();
    const budget = new WindowBudget(1_000);
    const w = new ReceiveWindow({ initial: 100, max: 400, budget, now: c.now, growWithinMs: 10 });
    // fast: 50 bytes within 5 ms -> the increment carries 100 bytes of growth
    c.t = 5;
    w.received(50);
    expect(w.consumed(50)).toBe(150);
    expect(w.size).toBe(200);
    c.t = 8;
    w.received(100);
    expect(w.consumed(100)).toBe(300);
    expect(w.size).toBe(400);
    // at the max: no more growth however fast
    c.t = 9;
    w.received(200);
    expect(w.consumed(200)).toBe(200);
    expect(w.size).toBe(400);
    expect(budget.available).toBe(700);
    // the sender may never have more than the window in flight
    expect(w.credit).toBe(400);
    w.release();
    w.release();
    expect(budget.available).toBe(1_000);
  });

  it('keeps the window of a slow consumer', () => {
    const c = clock();
    const budget = new WindowBudget(1_000);
    const w = new ReceiveWindow({ initial: 100, budget, now: c.now, growWithinMs: 10 });
    c.t = 50;
    w.received(50);
    expect(w.consumed(50)).toBe(50);
    expect(w.size).toBe(100);
    expect(budget.available).toBe(1_000);
  });

  it('grows only within what the connection budget has left', () => {
    const c = clock();
    const budget = new WindowBudget(150);
    const a = new ReceiveWindow({ initial: 100, budget, now: c.now });
    const b = new ReceiveWindow({ initial: 100, budget, now: c.now });
    a.received(50);
    expect(a.consumed(50)).toBe(150);
    b.received(50);
    expect(b.consumed(50)).toBe(100); // 50 of growth left
    expect(b.size).toBe(150);
    expect(budget.available).toBe(0);
    a.release();
    expect(budget.available).toBe(100);
  });

  it('validates the budget cap', () => {
    expect(() => new WindowBudget(-1)).toThrow(RangeError);
  });
});

/** Parses a WebSocket frame header (RFC 6455 §5.2) and returns the payload offset and length. */
function parseWsHead(b: Uint8Array): { offset: number; length: number; masked: boolean; opcode: number } {
  const opcode = b[0]! & 0x0f;
  const masked = (b[1]! & 0x80) !== 0;
  let length = b[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    length = (b[2]! << 8) | b[3]!;
    offset = 4;
  } else if (length === 127) {
    length = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(2));
    offset = 10;
  }
  if (masked) {
    expect([...b.subarray(offset, offset + 4)]).toEqual([0, 0, 0, 0]);
    offset += 4;
  }
  return { offset, length, masked, opcode };
}

describe('encodeDataHead', () => {
  it.each([1, 120, 121, 65_530, 65_531, 1024 * 1024])(
    'frames a %i-byte payload as one final binary message holding a DATA frame',
    (n) => {
      for (const masked of [false, true]) {
        const head = encodeDataHead(7, n, masked);
        const ws = parseWsHead(head);
        expect(ws.opcode).toBe(2);
        expect(head[0]! & 0x80).toBe(0x80);
        expect(ws.masked).toBe(masked);
        expect(ws.length).toBe(n + 5);
        expect(head.byteLength).toBe(ws.offset + 5);
        const payload = new Uint8Array(n).fill(9);
        const message = new Uint8Array(5 + n);
        message.set(head.subarray(ws.offset));
        message.set(payload, 5);
        const f = decodeFrame(message);
        expect(f).toMatchObject({ type: 'DATA', streamId: 7 });
        const data = (f as Extract<Frame, { type: 'DATA' }>).data;
        expect(Buffer.compare(data, payload)).toBe(0);
      }
    },
  );

  it('refuses empty and oversize payloads and stream 0', () => {
    expect(() => encodeDataHead(1, 0, false)).toThrow(ProtocolError);
    expect(() => encodeDataHead(1, 1024 * 1024 + 1, false)).toThrow(ProtocolError);
    expect(() => encodeDataHead(0, 10, false)).toThrow(ProtocolError);
  });
});

describe('FrameWriter raw DATA and DataPump gathering', () => {
  it('writes the head then the chunks uncopied, and gathers piled-up chunks into one frame', () => {
    const writes: Uint8Array[] = [];
    let open = true;
    const sent: Uint8Array[] = [];
    const writer = new FrameWriter({
      send: (b, done) => {
        sent.push(b);
        done();
      },
      socket: undefined,
      schedule: (fn) => fn(),
      highWater: 1 << 20,
      lowWater: 0,
      raw: {
        socket: {
          write(chunk, cb) {
            writes.push(chunk);
            cb?.();
            return true;
          },
        },
        masked: false,
        open: () => open,
      },
    });
    const source = { pause() {}, resume() {} };
    const pump = new DataPump(
      3,
      10,
      {
        send: (b) => writer.write(b),
        sendData: (id, chunks, length) => writer.writeData(id, chunks, length),
        congested: false,
        waitForDrain() {},
      },
      source,
      () => {},
    );
    const a = new Uint8Array([1, 2, 3, 4]);
    const b = new Uint8Array([5, 6, 7, 8]);
    const c = new Uint8Array([9, 10, 11, 12]);
    pump.push(a); // sent at once: 4 of 10
    pump.push(b); // 8 of 10
    pump.push(c); // 2 bytes fit
    expect(writes[1]).toBe(a); // the very buffer, not a copy
    expect(writes[3]).toBe(b);
    expect([...writes[5]!]).toEqual([9, 10]);
    writes.length = 0;
    // nothing more fits until WINDOW: then what piled up leaves as one frame
    pump.push(new Uint8Array([13]));
    expect(writes).toHaveLength(0);
    pump.expand(100);
    expect(writes).toHaveLength(3);
    const ws = parseWsHead(writes[0]!);
    expect(ws.length).toBe(5 + 3);
    expect([...writes[1]!, ...writes[2]!]).toEqual([11, 12, 13]);
    // a closed socket: through send, copied into one frame (which reports the failure)
    open = false;
    writer.writeData(4, [new Uint8Array([1]), new Uint8Array([2])], 2);
    expect(decodeFrame(sent.at(-1)!)).toMatchObject({
      type: 'DATA',
      streamId: 4,
      data: new Uint8Array([1, 2]),
    });
  });
});
