import {
  decodeFrame,
  encodeData,
  encodeFrame,
  type Frame,
  FrameType,
  headerBytes,
  Limits,
  ProtocolError,
  type ProtocolErrorCode,
  ResetCode,
} from '@slime/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../src/binary.js';

const samples: Frame[] = [
  {
    type: 'HELLO',
    streamId: 0,
    minVersion: 1,
    maxVersion: 3,
    slots: 16,
    streamWindow: 262144,
    name: 'gpu-1',
    agentId: 'a1',
    upstream: '127.0.0.1:9000',
    software: 'slime-ts/0.1.0',
    hardware: '{"cpus":8,"gpus":["A100"]}',
  },
  { type: 'WELCOME', streamId: 0, version: 1, streamWindow: 65536, heartbeatMs: 5000, agentId: 'a1#3' },
  { type: 'CREDIT', streamId: 0, count: 7 },
  {
    type: 'REQUEST',
    streamId: 1,
    endStream: false,
    method: 'POST',
    target: '/v1/chat?x=1&x=2',
    headers: [
      ['content-type', 'application/json'],
      ['x-multi', 'a'],
      ['x-multi', 'b'],
      ['x-utf8', 'héllo ✓'],
    ],
  },
  { type: 'REQUEST', streamId: 2, endStream: true, method: 'GET', target: '*', headers: [] },
  {
    type: 'RESPONSE',
    streamId: 1,
    endStream: false,
    status: 201,
    headers: [
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ],
  },
  { type: 'RESPONSE', streamId: 9, endStream: true, status: 304, headers: [] },
  { type: 'DATA', streamId: 1, data: new Uint8Array([0, 1, 2, 255]) },
  { type: 'END', streamId: 1 },
  { type: 'WINDOW', streamId: 4, increment: 131072 },
  { type: 'RESET', streamId: 4, code: ResetCode.UPSTREAM_TIMEOUT, message: 'upstream took too long' },
  { type: 'GOAWAY', streamId: 0, code: 0, message: 'draining' },
  { type: 'STATUS', streamId: 0, upstreamHealthy: false, reason: 'upstream refused the connection' },
  { type: 'STATUS', streamId: 0, upstreamHealthy: true, reason: '' },
  {
    type: 'REQUEST',
    streamId: 3,
    endStream: false,
    upgrade: true,
    method: 'GET',
    target: '/chat',
    headers: [['upgrade', 'websocket']],
  },
  { type: 'TRAILERS', streamId: 1, headers: [['grpc-status', '0']] },
  { type: 'TRAILERS', streamId: 2, headers: [] },
];

function codeOf(fn: () => unknown): ProtocolErrorCode | 'no error' {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return (err as ProtocolError).code;
  }
  return 'no error';
}

function bytes(...parts: Array<number | number[] | Uint8Array>): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else out.push(...p);
  }
  return new Uint8Array(out);
}
const u16 = (n: number) => [n >> 8, n & 0xff];
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const str16 = (s: string) => {
  const b = new TextEncoder().encode(s);
  return [...u16(b.length), ...b];
};

describe('codec round trip', () => {
  it('covers every frame type in the table', () => {
    const covered = new Set(samples.map((f) => f.type));
    expect([...covered].sort()).toEqual(Object.keys(FrameType).sort());
  });

  for (const frame of samples) {
    it(`round-trips ${frame.type} (stream ${frame.streamId})`, () => {
      const encoded = encodeFrame(frame);
      expect(encoded[0]).toBe(FrameType[frame.type]);
      const decoded = decodeFrame(encoded);
      expect(decoded).toEqual(frame);
      // re-encoding the decoded frame gives the same bytes: the layout has one spelling
      expect(encodeFrame(decoded)).toEqual(encoded);
    });
  }

  it('encodeData matches encodeFrame for DATA and decodes to a view, not a copy', () => {
    const data = new Uint8Array(1000).fill(7);
    const a = encodeData(3, data);
    expect(a).toEqual(encodeFrame({ type: 'DATA', streamId: 3, data }));
    const frame = decodeFrame(a);
    if (frame.type !== 'DATA') throw new Error('expected DATA');
    expect(frame.data.buffer).toBe(a.buffer);
  });
});

describe('malformed input', () => {
  it('rejects every strict prefix of every frame as truncated', () => {
    for (const frame of samples) {
      const encoded = encodeFrame(frame);
      for (let n = 0; n < encoded.length; n++) {
        const code = codeOf(() => decodeFrame(encoded.subarray(0, n)));
        // DATA's length is the message's: cut after its header it is an empty DATA frame (a value
        // error), cut later it is a valid shorter DATA frame.
        if (frame.type === 'DATA' && n === 5) expect(code).toBe('ERR_PROTOCOL_BAD_VALUE');
        else if (frame.type === 'DATA' && n > 5) expect(code).toBe('no error');
        else expect(code, `${frame.type} cut at ${n}`).toBe('ERR_PROTOCOL_TRUNCATED');
      }
    }
  });

  it('rejects trailing bytes after fixed-layout frames', () => {
    for (const frame of samples.filter((f) => f.type !== 'DATA')) {
      const encoded = encodeFrame(frame);
      const longer = bytes(encoded, 0);
      expect(
        codeOf(() => decodeFrame(longer)),
        frame.type,
      ).toBe('ERR_PROTOCOL_TRAILING_BYTES');
    }
  });

  it('rejects unknown frame types', () => {
    expect(codeOf(() => decodeFrame(bytes(0x00, u32(0))))).toBe('ERR_PROTOCOL_UNKNOWN_TYPE');
    expect(codeOf(() => decodeFrame(bytes(0x7f, u32(1))))).toBe('ERR_PROTOCOL_UNKNOWN_TYPE');
  });

  it('rejects oversize frames, strings and DATA', () => {
    const huge = new Uint8Array(Limits.MAX_FRAME_BYTES + 1);
    huge[0] = FrameType.DATA;
    expect(codeOf(() => decodeFrame(huge))).toBe('ERR_PROTOCOL_OVERSIZE');
    const bigData = new Uint8Array(5 + Limits.MAX_DATA_BYTES + 1);
    bigData.set([FrameType.DATA, ...u32(1)]);
    expect(codeOf(() => decodeFrame(bigData))).toBe('ERR_PROTOCOL_OVERSIZE');
    expect(codeOf(() => encodeData(1, new Uint8Array(Limits.MAX_DATA_BYTES + 1)))).toBe(
      'ERR_PROTOCOL_OVERSIZE',
    );
    // a GOAWAY message longer than the text limit
    const longText = bytes(FrameType.GOAWAY, u32(0), u16(0), u16(Limits.MAX_TEXT_BYTES + 1));
    expect(codeOf(() => decodeFrame(longText))).toBe('ERR_PROTOCOL_OVERSIZE');
    // a header block over MAX_HEADER_BYTES made of many legal headers
    const value = 'v'.repeat(Limits.MAX_HEADER_VALUE_BYTES);
    const headers: Array<[string, string]> = Array.from({ length: 5 }, (_, i) => [`h${i}`, value]);
    expect(
      codeOf(() => encodeFrame({ type: 'RESPONSE', streamId: 1, endStream: true, status: 200, headers })),
    ).toBe('ERR_PROTOCOL_OVERSIZE');
  });

  it('rejects bad UTF-8 in text fields', () => {
    const badText = bytes(FrameType.RESET, u32(1), u16(0), u16(2), 0xc3, 0x28);
    expect(codeOf(() => decodeFrame(badText))).toBe('ERR_PROTOCOL_BAD_UTF8');
    const badHeader = bytes(FrameType.RESPONSE, u32(1), 0, u16(200), u16(1), 1, 0x61, u16(1), 0xff);
    expect(codeOf(() => decodeFrame(badHeader))).toBe('ERR_PROTOCOL_BAD_UTF8');
  });

  it('rejects too many headers, on decode and on encode', () => {
    const tooMany = bytes(FrameType.RESPONSE, u32(1), 0, u16(200), u16(Limits.MAX_HEADERS + 1));
    expect(codeOf(() => decodeFrame(tooMany))).toBe('ERR_PROTOCOL_TOO_MANY_HEADERS');
    const headers: Array<[string, string]> = Array.from({ length: Limits.MAX_HEADERS + 1 }, (_, i) => [
      `h${i}`,
      'v',
    ]);
    expect(
      codeOf(() => encodeFrame({ type: 'RESPONSE', streamId: 1, endStream: true, status: 200, headers })),
    ).toBe('ERR_PROTOCOL_TOO_MANY_HEADERS');
  });

  it('rejects illegal header names and values (no response splitting)', () => {
    const badName = bytes(
      FrameType.RESPONSE,
      u32(1),
      0,
      u16(200),
      u16(1),
      3,
      [0x61, 0x20, 0x62],
      u16(1),
      0x76,
    );
    expect(codeOf(() => decodeFrame(badName))).toBe('ERR_PROTOCOL_BAD_HEADER');
    const crlf = encodeFrame({
      type: 'RESPONSE',
      streamId: 1,
      endStream: true,
      status: 200,
      headers: [['x', 'ab']],
    });
    crlf[crlf.length - 2] = 0x0d;
    crlf[crlf.length - 1] = 0x0a;
    expect(codeOf(() => decodeFrame(crlf))).toBe('ERR_PROTOCOL_BAD_HEADER');
    expect(
      codeOf(() =>
        encodeFrame({
          type: 'REQUEST',
          streamId: 1,
          endStream: true,
          method: 'GET',
          target: '/',
          headers: [['x', 'a\nb']],
        }),
      ),
    ).toBe('ERR_PROTOCOL_BAD_HEADER');
  });

  it('rejects zero stream ids where a stream is required and non-zero ids on connection frames', () => {
    for (const type of ['REQUEST', 'RESPONSE', 'DATA', 'END', 'WINDOW', 'RESET'] as const) {
      const sample = samples.find((f) => f.type === type)!;
      const encoded = encodeFrame(sample);
      encoded.set(u32(0), 1);
      expect(
        codeOf(() => decodeFrame(encoded)),
        type,
      ).toBe('ERR_PROTOCOL_BAD_STREAM_ID');
      expect(
        codeOf(() => encodeFrame({ ...sample, streamId: 0 } as Frame)),
        type,
      ).toBe('ERR_PROTOCOL_BAD_STREAM_ID');
    }
    for (const type of ['HELLO', 'WELCOME', 'CREDIT', 'GOAWAY', 'STATUS'] as const) {
      const encoded = encodeFrame(samples.find((f) => f.type === type)!);
      encoded.set(u32(5), 1);
      expect(
        codeOf(() => decodeFrame(encoded)),
        type,
      ).toBe('ERR_PROTOCOL_BAD_STREAM_ID');
    }
  });

  it('rejects out-of-range values', () => {
    expect(codeOf(() => decodeFrame(bytes(FrameType.CREDIT, u32(0), u32(0))))).toBe('ERR_PROTOCOL_BAD_VALUE');
    expect(codeOf(() => decodeFrame(bytes(FrameType.CREDIT, u32(0), u32(Limits.MAX_CREDITS + 1))))).toBe(
      'ERR_PROTOCOL_BAD_VALUE',
    );
    expect(codeOf(() => decodeFrame(bytes(FrameType.WINDOW, u32(1), u32(0))))).toBe('ERR_PROTOCOL_BAD_VALUE');
    expect(codeOf(() => decodeFrame(bytes(FrameType.WINDOW, u32(1), u32(0x8000_0000))))).toBe(
      'ERR_PROTOCOL_BAD_VALUE',
    );
    expect(codeOf(() => decodeFrame(bytes(FrameType.RESPONSE, u32(1), 0, u16(99), u16(0))))).toBe(
      'ERR_PROTOCOL_BAD_VALUE',
    );
    expect(codeOf(() => decodeFrame(bytes(FrameType.RESPONSE, u32(1), 0, u16(600), u16(0))))).toBe(
      'ERR_PROTOCOL_BAD_VALUE',
    );
    expect(codeOf(() => decodeFrame(bytes(FrameType.RESET, u32(1), u16(999), u16(0))))).toBe(
      'ERR_PROTOCOL_BAD_VALUE',
    );
    expect(codeOf(() => decodeFrame(bytes(FrameType.DATA, u32(1))))).toBe('ERR_PROTOCOL_BAD_VALUE');
    // method must be a token, target must be origin-form
    const req = (method: string, target: string) =>
      bytes(
        FrameType.REQUEST,
        u32(1),
        1,
        method.length,
        [...new TextEncoder().encode(method)],
        str16(target),
        u16(0),
      );
    expect(codeOf(() => decodeFrame(req('GE T', '/')))).toBe('ERR_PROTOCOL_BAD_VALUE');
    expect(codeOf(() => decodeFrame(req('GET', 'http://x/')))).toBe('ERR_PROTOCOL_BAD_VALUE');
    expect(codeOf(() => decodeFrame(req('GET', '/a b')))).toBe('ERR_PROTOCOL_BAD_VALUE');
    expect(codeOf(() => decodeFrame(req('GET', '/ok?q=1')))).toBe('no error');
    // HELLO with zero slots, or max version below min version
    const hello = (min: number, max: number, slots: number) =>
      bytes(
        FrameType.HELLO,
        u32(0),
        u16(min),
        u16(max),
        u32(slots),
        u32(65536),
        str16('n'),
        str16('i'),
        str16('u'),
        str16('s'),
        str16(''),
      );
    expect(codeOf(() => decodeFrame(hello(1, 1, 0)))).toBe('ERR_PROTOCOL_BAD_VALUE');
    expect(codeOf(() => decodeFrame(hello(2, 1, 1)))).toBe('ERR_PROTOCOL_BAD_VALUE');
    expect(codeOf(() => decodeFrame(hello(1, 1, 1)))).toBe('no error');
  });
});

describe('properties', () => {
  it('random bytes never make the decoder throw anything but ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (input) => {
        try {
          decodeFrame(input);
        } catch (err) {
          return err instanceof ProtocolError;
        }
        return true;
      }),
      { numRuns: 5000 },
    );
  });

  it('random bytes behind a valid type and stream id never crash the decoder', () => {
    const typeCodes = Object.values(FrameType);
    fc.assert(
      fc.property(
        fc.constantFrom(...typeCodes),
        fc.nat({ max: 3 }),
        fc.uint8Array({ maxLength: 256 }),
        (type, stream, rest) => {
          try {
            decodeFrame(bytes(type, u32(stream), rest));
          } catch (err) {
            return err instanceof ProtocolError;
          }
          return true;
        },
      ),
      { numRuns: 5000 },
    );
  });

  const token = fc.stringMatching(/^[a-z0-9!#$%&'*+.^_`|~-]{1,20}$/);
  const headerValue = fc.string({ maxLength: 40 }).filter((s) => !/[\0\r\n]/.test(s));
  const headers = fc.array(fc.tuple(token, headerValue), { maxLength: 12 });
  const streamId = fc.integer({ min: 1, max: Limits.MAX_STREAM_ID });
  const text = fc.string({ maxLength: 60 });
  const frame: fc.Arbitrary<Frame> = fc.oneof(
    fc.record({
      type: fc.constant('HELLO' as const),
      streamId: fc.constant(0 as const),
      minVersion: fc.constant(1),
      maxVersion: fc.integer({ min: 1, max: 0xffff }),
      slots: fc.integer({ min: 1, max: Limits.MAX_SLOTS }),
      streamWindow: fc.integer({ min: 1, max: Limits.MAX_WINDOW }),
      name: text,
      agentId: text,
      upstream: text,
      software: text,
      hardware: text,
    }),
    fc.record({
      type: fc.constant('WELCOME' as const),
      streamId: fc.constant(0 as const),
      version: fc.integer({ min: 1, max: 0xffff }),
      streamWindow: fc.integer({ min: 1, max: Limits.MAX_WINDOW }),
      heartbeatMs: fc.nat(),
      agentId: text,
    }),
    fc.record({
      type: fc.constant('CREDIT' as const),
      streamId: fc.constant(0 as const),
      count: fc.integer({ min: 1, max: Limits.MAX_CREDITS }),
    }),
    fc.record({
      type: fc.constant('REQUEST' as const),
      streamId,
      endStream: fc.boolean(),
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'X-CUSTOM'),
      target: fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
      headers,
    }),
    fc.record({
      type: fc.constant('RESPONSE' as const),
      streamId,
      endStream: fc.boolean(),
      status: fc.integer({ min: 100, max: 599 }),
      headers,
    }),
    fc.record({
      type: fc.constant('DATA' as const),
      streamId,
      data: fc.uint8Array({ minLength: 1, maxLength: 300 }),
    }),
    fc.record({ type: fc.constant('END' as const), streamId }),
    fc.record({
      type: fc.constant('WINDOW' as const),
      streamId,
      increment: fc.integer({ min: 1, max: Limits.MAX_WINDOW }),
    }),
    fc.record({
      type: fc.constant('RESET' as const),
      streamId,
      code: fc.constantFrom(...Object.values(ResetCode)),
      message: text,
    }),
    fc.record({
      type: fc.constant('GOAWAY' as const),
      streamId: fc.constant(0 as const),
      code: fc.integer({ min: 0, max: 0xffff }),
      message: text,
    }),
    fc.record({
      type: fc.constant('STATUS' as const),
      streamId: fc.constant(0 as const),
      upstreamHealthy: fc.boolean(),
      reason: text,
    }),
    fc.record({
      type: fc.constant('REQUEST' as const),
      streamId,
      endStream: fc.constant(false),
      upgrade: fc.constant(true as const),
      method: fc.constantFrom('GET', 'POST', 'X-CUSTOM'),
      target: fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
      headers,
    }),
    fc.record({ type: fc.constant('TRAILERS' as const), streamId, headers }),
  );

  it('encode then decode returns the same frame for random valid frames', () => {
    fc.assert(
      fc.property(frame, (f) => {
        expect(decodeFrame(encodeFrame(f))).toEqual(f);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('STATUS', () => {
  it('has the documented layout: type, stream 0, healthy u8, reason str16', () => {
    const encoded = encodeFrame({ type: 'STATUS', streamId: 0, upstreamHealthy: false, reason: 'down' });
    expect(Buffer.from(encoded).toString('hex')).toBe('0b00000000000004646f776e');
    expect(encodeFrame({ type: 'STATUS', streamId: 0, upstreamHealthy: true, reason: '' })).toEqual(
      bytes(0x0b, u32(0), 1, u16(0)),
    );
    expect(decodeFrame(bytes(0x0b, u32(0), 1, str16('ok')))).toEqual({
      type: 'STATUS',
      streamId: 0,
      upstreamHealthy: true,
      reason: 'ok',
    });
  });

  it('rejects a healthy byte other than 0 or 1, a long or invalid reason, and a non-zero stream', () => {
    expect(codeOf(() => decodeFrame(bytes(0x0b, u32(0), 2, u16(0))))).toBe('ERR_PROTOCOL_BAD_VALUE');
    expect(codeOf(() => decodeFrame(bytes(0x0b, u32(0), 0xff, u16(0))))).toBe('ERR_PROTOCOL_BAD_VALUE');
    const long = 'r'.repeat(Limits.MAX_TEXT_BYTES + 1);
    expect(codeOf(() => decodeFrame(bytes(0x0b, u32(0), 0, str16(long))))).toBe('ERR_PROTOCOL_OVERSIZE');
    expect(
      codeOf(() => encodeFrame({ type: 'STATUS', streamId: 0, upstreamHealthy: false, reason: long })),
    ).toBe('ERR_PROTOCOL_OVERSIZE');
    expect(codeOf(() => decodeFrame(bytes(0x0b, u32(0), 0, u16(1), 0xff)))).toBe('ERR_PROTOCOL_BAD_UTF8');
    expect(codeOf(() => decodeFrame(bytes(0x0b, u32(3), 0, u16(0))))).toBe('ERR_PROTOCOL_BAD_STREAM_ID');
    expect(
      codeOf(() => encodeFrame({ type: 'STATUS', streamId: 1 as 0, upstreamHealthy: true, reason: '' })),
    ).toBe('ERR_PROTOCOL_BAD_STREAM_ID');
    expect(
      codeOf(() =>
        encodeFrame({ type: 'STATUS', streamId: 0, upstreamHealthy: 1 as unknown as boolean, reason: '' }),
      ),
    ).toBe('ERR_PROTOCOL_BAD_VALUE');
    expect(codeOf(() => decodeFrame(bytes(0x0b, u32(0), 0)))).toBe('ERR_PROTOCOL_TRUNCATED');
    expect(codeOf(() => decodeFrame(bytes(0x0b, u32(0), 0, u16(0), 0)))).toBe('ERR_PROTOCOL_TRAILING_BYTES');
  });
});

describe('header limits count UTF-8 bytes on both ends', () => {
  it('a header block of multi-byte text over the byte limit is refused by the decoder as by the encoder', () => {
    // 3 bytes per character: under the limit in characters, over it in bytes
    const value = '€'.repeat(5000); // 15,000 bytes, within one value's 16 KiB
    const headers: [string, string][] = Array.from({ length: 5 }, (_, i) => [`x-h${i}`, value]);
    expect(headerBytes(headers)).toBeGreaterThan(Limits.MAX_HEADER_BYTES);
    expect(() =>
      encodeFrame({ type: 'REQUEST', streamId: 1, endStream: true, method: 'GET', target: '/', headers }),
    ).toThrow(/header block is \d+ bytes/);
    // the same block sent by a foreign peer is refused on decode too (it used to count characters)
    const field = ([name, v]: [string, string]) => {
      const n = new TextEncoder().encode(name);
      return [n.length, ...n, ...str16(v)];
    };
    const raw = bytes(FrameType.RESPONSE, u32(1), 0, u16(200), u16(5), ...headers.map(field));
    expect(codeOf(() => decodeFrame(raw))).toBe('ERR_PROTOCOL_OVERSIZE');
    const fits = bytes(FrameType.RESPONSE, u32(1), 0, u16(200), u16(4), ...headers.slice(0, 4).map(field));
    expect(decodeFrame(fits).type).toBe('RESPONSE');
  });
});

describe('utf8', () => {
  it('encodes like TextEncoder for ASCII, non-ASCII, lone surrogates and long text', () => {
    const encoder = new TextEncoder();
    for (const text of [
      '',
      'content-type',
      'naïve',
      '€uro',
      '😀',
      '\ud800x',
      'a'.repeat(300),
      `${'a'.repeat(100)}é`,
    ]) {
      expect(utf8(text)).toEqual(encoder.encode(text));
    }
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(utf8(text)).toEqual(encoder.encode(text));
      }),
    );
  });
});
