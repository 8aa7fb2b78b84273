import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  encodeData,
  encodeFrame,
  encodeWholeResponse,
  type HeaderList,
  ProtocolError,
} from '../src/index.js';

/** Splits bytes into the payloads of the final binary WebSocket messages in them (RFC 6455 §5.2). */
function wsMessages(b: Uint8Array, masked: boolean): Uint8Array[] {
  const out: Uint8Array[] = [];
  let p = 0;
  while (p < b.byteLength) {
    expect(b[p]).toBe(0x82); // FIN + binary
    expect((b[p + 1]! & 0x80) !== 0).toBe(masked);
    let length = b[p + 1]! & 0x7f;
    let q = p + 2;
    if (length === 126) {
      length = (b[q]! << 8) | b[q + 1]!;
      q += 2;
    } else if (length === 127) {
      length = Number(Buffer.from(b.subarray(q, q + 8)).readBigUInt64BE());
      q += 8;
    }
    if (masked) {
      expect([...b.subarray(q, q + 4)]).toEqual([0, 0, 0, 0]); // the zero key: payload as it is
      q += 4;
    }
    out.push(b.subarray(q, q + length));
    p = q + length;
  }
  expect(p).toBe(b.byteLength);
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const headers: HeaderList = [
  ['content-type', 'text/plain'],
  ['x-utf8', 'café'],
];

describe('encodeWholeResponse', () => {
  it.each([0, 1, 115, 116, 120, 121, 16_384, 65_530, 65_531, 70_000])(
    'gives RESPONSE, DATA and END byte for byte as encodeFrame does, for a %i-byte body',
    (n) => {
      const body = Buffer.alloc(n, 7);
      // the body in two chunks when it has two bytes or more: they are written back to back
      const chunks = n > 1 ? [body.subarray(0, 1), body.subarray(1)] : n === 1 ? [body] : [];
      for (const masked of [false, true]) {
        const messages = wsMessages(encodeWholeResponse(9, 200, headers, chunks, n, masked), masked);
        const expected = [
          encodeFrame({ type: 'RESPONSE', streamId: 9, endStream: false, status: 200, headers }),
          ...(n > 0 ? [encodeData(9, body)] : []),
          encodeFrame({ type: 'END', streamId: 9 }),
        ];
        expect(messages.map(hex)).toEqual(expected.map(hex));
        expect(decodeFrame(messages[0]!)).toMatchObject({ type: 'RESPONSE', status: 200, headers });
      }
    },
  );

  it('frames a head longer than 65,535 bytes with the 8-byte length', () => {
    const big: HeaderList = [0, 1, 2, 3].map((i) => [`x-${i}`, 'v'.repeat(16_380)]);
    const messages = wsMessages(encodeWholeResponse(3, 404, big, [], 0, true), true);
    expect(messages[0]!.byteLength).toBeGreaterThan(65_535);
    expect(decodeFrame(messages[0]!)).toMatchObject({ type: 'RESPONSE', status: 404, headers: big });
    expect(decodeFrame(messages[1]!)).toEqual({ type: 'END', streamId: 3 });
  });

  it('refuses what encodeFrame refuses, and a body past the DATA limit', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
        return (err as ProtocolError).code;
      }
      return 'no error';
    };
    expect(code(() => encodeWholeResponse(0, 200, [], [], 0, false))).toBe('ERR_PROTOCOL_BAD_STREAM_ID');
    expect(code(() => encodeWholeResponse(1, 99, [], [], 0, false))).toBe('ERR_PROTOCOL_BAD_VALUE');
    const many: HeaderList = Array.from({ length: 257 }, (_, i) => [`x-${i}`, 'v']);
    expect(code(() => encodeWholeResponse(1, 200, many, [], 0, false))).toBe('ERR_PROTOCOL_TOO_MANY_HEADERS');
    const huge = new Uint8Array(1024 * 1024 + 1);
    expect(code(() => encodeWholeResponse(1, 200, [], [huge], huge.byteLength, false))).toBe(
      'ERR_PROTOCOL_OVERSIZE',
    );
  });
});
