import {
  DataPump,
  decodeFrame,
  encodeFrame,
  type Frame,
  FrameFlags,
  FrameType,
  Limits,
  PROTOCOL_VERSION,
  ProtocolError,
  type ProtocolErrorCode,
  UPGRADE_VERSION,
} from '@slime/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

function codeOf(fn: () => unknown): ProtocolErrorCode | 'no error' {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return (err as ProtocolError).code;
  }
  return 'no error';
}
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

describe('protocol version 3: upgraded streams and TRAILERS', () => {
  it('is the version this build speaks', () => {
    expect(PROTOCOL_VERSION).toBe(3);
    expect(UPGRADE_VERSION).toBe(3);
    expect(FrameType.TRAILERS).toBe(0x0c);
    expect(FrameFlags.UPGRADE).toBe(0x02);
  });

  it('encodes the documented hex examples (docs/protocol.md §7)', () => {
    const upgrade = encodeFrame({
      type: 'REQUEST',
      streamId: 1,
      endStream: false,
      upgrade: true,
      method: 'GET',
      target: '/chat',
      headers: [['upgrade', 'websocket']],
    });
    expect(hex(upgrade)).toBe(
      '04000000010203474554' + '00052f63686174' + '0001077570677261646500097765627' + '36f636b6574',
    );
    const trailers = encodeFrame({ type: 'TRAILERS', streamId: 1, headers: [['grpc-status', '0']] });
    expect(hex(trailers)).toBe('0c00000001' + '0001' + '0b677270632d737461747573' + '000130');
    const switched = encodeFrame({
      type: 'RESPONSE',
      streamId: 1,
      endStream: false,
      status: 101,
      headers: [['upgrade', 'websocket']],
    });
    expect(hex(switched)).toBe('05000000010000650001077570677261646500097765627' + '36f636b6574');
    expect(decodeFrame(fromHex('0c 00000007 0000'))).toEqual({ type: 'TRAILERS', streamId: 7, headers: [] });
  });

  it('decodes flag 0x02 as upgrade and leaves ordinary requests without the field', () => {
    const plain = decodeFrame(fromHex('04 00000001 00 03474554 00012f 0000'));
    expect(plain).toEqual({
      type: 'REQUEST',
      streamId: 1,
      endStream: false,
      method: 'GET',
      target: '/',
      headers: [],
    });
    expect('upgrade' in plain).toBe(false);
    const up = decodeFrame(fromHex('04 00000001 02 03474554 00012f 0000'));
    expect(up).toMatchObject({ type: 'REQUEST', upgrade: true, endStream: false });
  });

  it('rejects an UPGRADE request that also ends its stream, both ways', () => {
    expect(codeOf(() => decodeFrame(fromHex('04 00000001 03 03474554 00012f 0000')))).toBe(
      'ERR_PROTOCOL_BAD_VALUE',
    );
    expect(
      codeOf(() =>
        encodeFrame({
          type: 'REQUEST',
          streamId: 1,
          endStream: true,
          upgrade: true,
          method: 'GET',
          target: '/',
          headers: [],
        }),
      ),
    ).toBe('ERR_PROTOCOL_BAD_VALUE');
  });

  it('rejects malformed TRAILERS: stream 0, truncation, trailing bytes, bad names, CR/LF, oversize', () => {
    expect(codeOf(() => decodeFrame(fromHex('0c 00000000 0000')))).toBe('ERR_PROTOCOL_BAD_STREAM_ID');
    expect(codeOf(() => encodeFrame({ type: 'TRAILERS', streamId: 0, headers: [] }))).toBe(
      'ERR_PROTOCOL_BAD_STREAM_ID',
    );
    expect(codeOf(() => decodeFrame(fromHex('0c 00000001')))).toBe('ERR_PROTOCOL_TRUNCATED');
    expect(codeOf(() => decodeFrame(fromHex('0c 00000001 0001 0178')))).toBe('ERR_PROTOCOL_TRUNCATED');
    expect(codeOf(() => decodeFrame(fromHex('0c 00000001 0000 00')))).toBe('ERR_PROTOCOL_TRAILING_BYTES');
    // "a b" is not a token
    expect(codeOf(() => decodeFrame(fromHex('0c 00000001 0001 03612062 0000')))).toBe(
      'ERR_PROTOCOL_BAD_HEADER',
    );
    expect(codeOf(() => decodeFrame(fromHex('0c 00000001 0001 0178 00020d0a')))).toBe(
      'ERR_PROTOCOL_BAD_HEADER',
    );
    const many = Array.from({ length: Limits.MAX_HEADERS + 1 }, (_, i) => [`x${i}`, 'v'] as [string, string]);
    expect(codeOf(() => encodeFrame({ type: 'TRAILERS', streamId: 1, headers: many }))).toBe(
      'ERR_PROTOCOL_TOO_MANY_HEADERS',
    );
    const big = 'v'.repeat(Limits.MAX_HEADER_VALUE_BYTES + 1);
    expect(codeOf(() => encodeFrame({ type: 'TRAILERS', streamId: 1, headers: [['x', big]] }))).toBe(
      'ERR_PROTOCOL_OVERSIZE',
    );
  });

  it('never throws anything but ProtocolError on random TRAILERS and REQUEST payloads', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(FrameType.TRAILERS, FrameType.REQUEST),
        fc.integer({ min: 0, max: 3 }),
        fc.uint8Array({ maxLength: 128 }),
        (type, flags, payload) => {
          const frame = new Uint8Array(5 + 1 + payload.byteLength);
          frame[0] = type;
          frame[4] = 1;
          frame[5] = flags;
          frame.set(payload, 6);
          codeOf(() => decodeFrame(frame));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('round-trips random TRAILERS and UPGRADE requests byte for byte', () => {
    const token = fc.stringMatching(/^[a-z0-9!#$%&'*+.^_`|~-]{1,20}$/);
    const value = fc.string({ maxLength: 40 }).filter((s) => !/[\0\r\n]/.test(s));
    const headers = fc.array(fc.tuple(token, value), { maxLength: 12 });
    const streamId = fc.integer({ min: 1, max: Limits.MAX_STREAM_ID });
    const frame: fc.Arbitrary<Frame> = fc.oneof(
      fc.record({ type: fc.constant('TRAILERS' as const), streamId, headers }),
      fc.record({
        type: fc.constant('REQUEST' as const),
        streamId,
        endStream: fc.constant(false),
        upgrade: fc.constant(true as const),
        method: fc.constantFrom('GET', 'POST'),
        target: fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
        headers,
      }),
    );
    fc.assert(
      fc.property(frame, (f) => {
        const bytes = encodeFrame(f);
        const back = decodeFrame(bytes);
        expect(back).toEqual(f);
        expect(encodeFrame(back)).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('DataPump with trailers', () => {
  function harness() {
    const sent: Frame[] = [];
    const sink = { congested: false, send: (b: Uint8Array) => sent.push(decodeFrame(b)), waitForDrain() {} };
    let ended = 0;
    const pump = new DataPump(5, 100, sink, null, () => ended++);
    return { pump, sent, ended: () => ended };
  }

  it('ends with TRAILERS in place of END, after every pending byte, once', () => {
    const h = harness();
    h.pump.push(new Uint8Array(150));
    h.pump.end([['x-checksum', 'abc']]);
    expect(h.sent.map((f) => f.type)).toEqual(['DATA']);
    h.pump.expand(50);
    expect(h.sent.map((f) => f.type)).toEqual(['DATA', 'DATA', 'TRAILERS']);
    expect(h.sent.at(-1)).toEqual({ type: 'TRAILERS', streamId: 5, headers: [['x-checksum', 'abc']] });
    expect(h.ended()).toBe(1);
  });

  it('ends with END when the trailer list is empty', () => {
    const h = harness();
    h.pump.end([]);
    expect(h.sent).toEqual([{ type: 'END', streamId: 5 }]);
  });
});
