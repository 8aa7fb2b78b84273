import { ProtocolError } from './errors.js';

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

// Header names and values are short and almost always ASCII: copying their char codes is about
// 5x faster than a TextEncoder call (110 vs 600 ns per string), which adds up over every header
// of every request.
const ASCII_FAST_PATH_MAX = 256;

/** Encodes text to UTF-8. Exposed so encoders can size frames before writing. */
export function utf8(text: string): Uint8Array {
  const n = text.length;
  if (n > ASCII_FAST_PATH_MAX) return utf8Encoder.encode(text);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return utf8Encoder.encode(text);
    out[i] = c;
  }
  return out;
}

// Node's Buffer.allocUnsafe skips the zero-fill (every byte of a frame is written) and serves small
// frames from a shared pool; elsewhere a plain Uint8Array. Read off globalThis so the protocol
// package needs no Node types.
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe(size: number): Uint8Array } }).Buffer;
// A plain Uint8Array view of the same memory: frames stay Uint8Arrays whatever allocated them.
export const allocUnsafe: (size: number) => Uint8Array = NodeBuffer
  ? (size) => {
      const b = NodeBuffer.allocUnsafe(size);
      return new Uint8Array(b.buffer, b.byteOffset, size);
    }
  : (size) => new Uint8Array(size);

// Header names and values, methods and targets are short ASCII: their char codes make the string
// faster than a TextDecoder call, whose fixed cost dominates below a few dozen bytes (REQUEST decode
// 3.1 -> see bench/probes/codec-micro.mjs). Longer text goes through the decoder.
const ASCII_DECODE_MAX = 64;

/** The string of ASCII bytes (the caller checked every byte is below 0x80). */
function asciiString(raw: Uint8Array): string {
  return String.fromCharCode.apply(null, raw as unknown as number[]);
}

/** Whether `text` is ASCII only (then its UTF-8 bytes are its char codes). */
export function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

// RFC 9110 token characters: ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA, as a byte table.
/** 1 for the bytes an RFC 9110 token may hold (header names, methods). */
export const TOKEN_BYTE = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TOKEN_BYTE[c.charCodeAt(0)] = 1;

/** A Node Buffer's latin1Slice, when the bytes are one (what ws hands us): no view, no decoder call. */
interface Latin1Sliceable {
  latin1Slice(start: number, end: number): string;
}

/** Bounds-checked reader over one frame. Every read throws ProtocolError instead of reading past the end. */
export class Reader {
  readonly #bytes: Uint8Array;
  readonly #latin1: Latin1Sliceable | null;
  /** The whole frame as Latin-1 text, made at the first string read: strings are cut from it. */
  #text: string | null = null;
  #pos: number;

  constructor(bytes: Uint8Array, start = 0) {
    this.#bytes = bytes;
    this.#pos = start;
    const b = bytes as Uint8Array & Partial<Latin1Sliceable>;
    this.#latin1 = typeof b.latin1Slice === 'function' ? (b as Latin1Sliceable) : null;
  }

  get remaining(): number {
    return this.#bytes.byteLength - this.#pos;
  }

  #need(n: number, what: string, suffix = ''): void {
    if (this.#bytes.byteLength - this.#pos < n) {
      throw new ProtocolError('ERR_PROTOCOL_TRUNCATED', `frame ends inside ${what}${suffix}`);
    }
  }

  u8(what: string): number {
    this.#need(1, what);
    return this.#bytes[this.#pos++]!;
  }

  u16(what: string): number {
    this.#need(2, what);
    const b = this.#bytes;
    const p = this.#pos;
    this.#pos += 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  u32(what: string): number {
    this.#need(4, what);
    const b = this.#bytes;
    const p = this.#pos;
    this.#pos += 4;
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  bytes(n: number, what: string): Uint8Array {
    this.#need(n, what);
    const out = this.#bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  /** The string of the ASCII bytes [start, end) (the caller checked them). */
  #ascii(start: number, end: number): string {
    // One native call per frame, not one per string: the strings of a REQUEST (method, target,
    // header names and values) are cut from a single Latin-1 copy of the frame. REQUEST decode
    // 1.85 -> 1.2 µs (bench/probes/codec-micro.mjs).
    if (this.#latin1) {
      this.#text ??= this.#latin1.latin1Slice(0, this.#bytes.byteLength);
      return this.#text.substring(start, end);
    }
    const raw = this.#bytes.subarray(start, end);
    return end - start <= ASCII_DECODE_MAX ? asciiString(raw) : utf8Decoder.decode(raw);
  }

  /** Reads UTF-8 text of `n` bytes, rejecting invalid sequences. */
  text(n: number, what: string): string {
    this.#need(n, what);
    const b = this.#bytes;
    const start = this.#pos;
    const end = start + n;
    this.#pos = end;
    let i = start;
    while (i < end && b[i]! < 0x80) i++;
    if (i === end) return this.#ascii(start, end);
    try {
      return utf8Decoder.decode(b.subarray(start, end));
    } catch (cause) {
      throw new ProtocolError('ERR_PROTOCOL_BAD_UTF8', `${what} is not valid UTF-8`, { cause });
    }
  }

  #length8(max: number, what: string): number {
    this.#need(1, what, ' length');
    const n = this.#bytes[this.#pos++]!;
    if (n > max) throw new ProtocolError('ERR_PROTOCOL_OVERSIZE', `${what} is ${n} bytes, limit ${max}`);
    return n;
  }

  #length16(max: number, what: string): number {
    this.#need(2, what, ' length');
    const b = this.#bytes;
    const p = this.#pos;
    this.#pos += 2;
    const n = (b[p]! << 8) | b[p + 1]!;
    if (n > max) throw new ProtocolError('ERR_PROTOCOL_OVERSIZE', `${what} is ${n} bytes, limit ${max}`);
    return n;
  }

  /**
   * Reads a u8-length header name that must be an RFC 9110 token, checking each byte as it is
   * read (no regex pass afterwards); null when the name is not a token.
   */
  tokenStr8(max: number, what: string): string | null {
    const n = this.#length8(max, what);
    this.#need(n, what);
    const b = this.#bytes;
    const start = this.#pos;
    const end = start + n;
    this.#pos = end;
    if (n === 0) return null;
    for (let i = start; i < end; i++) if (TOKEN_BYTE[b[i]!] !== 1) return null;
    // A token is ASCII: its char codes are its bytes.
    return this.#ascii(start, end);
  }

  /**
   * Reads a u16-length field value; null when it holds NUL, CR or LF (which would let it smuggle a
   * header line). Non-ASCII values are decoded as UTF-8 like any text.
   */
  fieldStr16(max: number, what: string): string | null {
    const n = this.#length16(max, what);
    this.#need(n, what);
    const b = this.#bytes;
    const start = this.#pos;
    const end = start + n;
    let ascii = true;
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      if (c === 0 || c === 0x0a || c === 0x0d) {
        this.#pos = end;
        return null;
      }
      if (c > 0x7f) ascii = false;
    }
    if (ascii) {
      this.#pos = end;
      return this.#ascii(start, end);
    }
    return this.text(n, what);
  }

  /** Reads a u16 length then that many bytes of text, at most `max` bytes. */
  str16(max: number, what: string): string {
    return this.text(this.#length16(max, what), what);
  }

  /** Reads a u8 length then that many bytes of text, at most `max` bytes. */
  str8(max: number, what: string): string {
    return this.text(this.#length8(max, what), what);
  }

  /** Throws unless every byte was consumed: trailing garbage means the peer and we disagree on the layout. */
  end(what: string): void {
    if (this.remaining !== 0) {
      throw new ProtocolError(
        'ERR_PROTOCOL_TRAILING_BYTES',
        `${this.remaining} unexpected bytes after ${what}`,
      );
    }
  }
}

/** Writer into a buffer sized up front by the encoder. */
export class Writer {
  readonly bytes: Uint8Array;
  #pos = 0;

  constructor(size: number) {
    this.bytes = allocUnsafe(size);
  }

  u8(v: number): void {
    this.bytes[this.#pos++] = v;
  }

  u16(v: number): void {
    const b = this.bytes;
    b[this.#pos++] = v >>> 8;
    b[this.#pos++] = v;
  }

  u32(v: number): void {
    const b = this.bytes;
    b[this.#pos++] = v >>> 24;
    b[this.#pos++] = v >>> 16;
    b[this.#pos++] = v >>> 8;
    b[this.#pos++] = v;
  }

  /** Writes an ASCII string's char codes (the caller checked it is ASCII). */
  ascii(text: string): void {
    const b = this.bytes;
    let p = this.#pos;
    for (let i = 0; i < text.length; i++) b[p++] = text.charCodeAt(i);
    this.#pos = p;
  }

  raw(b: Uint8Array): void {
    this.bytes.set(b, this.#pos);
    this.#pos += b.byteLength;
  }

  str16(b: Uint8Array): void {
    this.u16(b.byteLength);
    this.raw(b);
  }

  str8(b: Uint8Array): void {
    this.u8(b.byteLength);
    this.raw(b);
  }

  get position(): number {
    return this.#pos;
  }
}
