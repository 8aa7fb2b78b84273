import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, type Frame, Limits } from '../src/index.js';

const request = (target: string): Frame => ({
  type: 'REQUEST',
  streamId: 7,
  endStream: true,
  method: 'PATCH',
  target,
  headers: [['host', 'example.test']],
});

/** The REQUEST layout by hand (the 5-byte frame head left zero: not compared), flags, u8 method, u16 target (UTF-8 bytes), headers. */
function layout(target: string): Uint8Array {
  const t = new TextEncoder().encode(target);
  const m = new TextEncoder().encode('PATCH');
  const name = new TextEncoder().encode('host');
  const value = new TextEncoder().encode('example.test');
  const parts = [
    [0, 0, 0, 0, 0],
    [1],
    [m.length, ...m],
    [t.length >> 8, t.length & 0xff, ...t],
    [0, 1, name.length, ...name, value.length >> 8, value.length & 0xff, ...value],
  ];
  return Uint8Array.from(parts.flat());
}

describe('REQUEST encoding (method and ASCII targets written as char codes)', () => {
  it('writes the same bytes for ASCII and non-ASCII targets, and they decode back (property)', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.oneof(fc.constantFrom('a', '/', '?', '=', '%', '~'), fc.constantFrom('é', 'ü', '€', '😀')),
          maxLength: 40,
        }),
        (rest) => {
          const target = `/${rest}`;
          const bytes = encodeFrame(request(target));
          const expected = layout(target);
          expect(bytes.subarray(5)).toEqual(expected.subarray(5));
          expect(decodeFrame(bytes)).toMatchObject({ type: 'REQUEST', method: 'PATCH', target });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a target over the limit in UTF-8 bytes, not characters', () => {
    const atLimit = `/${'é'.repeat((Limits.MAX_TARGET_BYTES - 2) / 2)}a`;
    expect(new TextEncoder().encode(atLimit).byteLength).toBe(Limits.MAX_TARGET_BYTES);
    expect(() => encodeFrame(request(atLimit))).not.toThrow();
    expect(() => encodeFrame(request(`${atLimit}é`))).toThrow(
      expect.objectContaining({ code: 'ERR_PROTOCOL_OVERSIZE' }),
    );
    expect(() => encodeFrame(request(`/${'a'.repeat(Limits.MAX_TARGET_BYTES)}`))).toThrow(
      /target is 16385 bytes/,
    );
  });
});
