// The two encodings inside a Go Slime Proxy token, read with no dependency: RFC 4648 base32
// (standard alphabet, padding removed) and the protobuf wire format (only what the token uses).

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

/**
 * Decodes unpadded base32 (RFC 4648 §6, uppercase alphabet) as Go's
 * `base32.StdEncoding.WithPadding(base32.NoPadding)` does: a length that leaves 1, 3 or 6
 * characters in the last group cannot come from whole bytes and is refused. Returns null for
 * anything that is not base32.
 */
export function decodeBase32(text: string): Uint8Array | null {
  const tail = text.length % 8;
  if (tail === 1 || tail === 3 || tail === 6) return null;
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let bits = 0;
  let acc = 0;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? VALUE[c]! : -1;
    if (v < 0) return null;
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** Protobuf wire types (https://protobuf.dev/programming-guides/encoding/#structure). */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, I32: 5 } as const;

export interface ProtoField {
  field: number;
  wireType: number;
  /** VARINT: the value as an unsigned 64-bit integer (an int64 is `BigInt.asIntN(64, v)`). */
  varint?: bigint;
  /** LEN: the bytes. */
  bytes?: Uint8Array;
}

/** A malformed protobuf message. */
export class ProtoError extends Error {
  override readonly name = 'ProtoError';
}

/**
 * Reads the fields of one protobuf message in order. Unknown fields are returned too (the caller
 * skips them, as protobuf readers must); groups, deprecated since proto2, are refused.
 */
export function* readProtoFields(buf: Uint8Array): Generator<ProtoField> {
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) throw new ProtoError('truncated varint');
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        // the tenth byte may carry one bit only: more would not fit in 64 bits
        if (shift === 63n && b > 1) throw new ProtoError('varint overflows 64 bits');
        return result;
      }
    }
    throw new ProtoError('varint longer than 10 bytes');
  };
  const take = (n: number): Uint8Array => {
    if (n > buf.length - pos) throw new ProtoError('field runs past the end of the message');
    const out = buf.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  while (pos < buf.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (field < 1 || field > 0x1fffffff) throw new ProtoError(`field number ${field} out of range`);
    switch (wireType) {
      case WireType.VARINT:
        yield { field, wireType, varint: varint() };
        break;
      case WireType.I64:
        yield { field, wireType, bytes: take(8) };
        break;
      case WireType.LEN: {
        const len = varint();
        if (len > BigInt(buf.length - pos)) throw new ProtoError('field runs past the end of the message');
        yield { field, wireType, bytes: take(Number(len)) };
        break;
      }
      case WireType.I32:
        yield { field, wireType, bytes: take(4) };
        break;
      default:
        throw new ProtoError(`wire type ${wireType} is not supported`);
    }
  }
}
