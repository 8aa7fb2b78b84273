import { type Reader, TOKEN_BYTE, utf8, type Writer } from './binary.js';
import { Limits } from './constants.js';
import { fail } from './frame-checks.js';
import type { HeaderList } from './frames.js';
import { assertHeaderCount } from './headers.js';

/**
 * A header block on the wire: u16 count, then per field a u8-length name and a u16-length value.
 * Names must be RFC 9110 tokens, values must not hold NUL, CR or LF (assertHeader's rules), and
 * sizes stay within Limits; the encoder and the decoder enforce the same.
 */
export interface EncodedHeaders {
  /** name, value, name, value...: ASCII strings as they are (written char by char), others as UTF-8. */
  parts: Array<string | Uint8Array>;
  size: number;
}

function byteLength(part: string | Uint8Array): number {
  return typeof part === 'string' ? part.length : part.byteLength;
}

/** The name as it goes on the wire (a token is ASCII: the string itself); throws unless a token. */
function wireName(name: string): string {
  let ok = name.length > 0;
  for (let i = 0; ok && i < name.length; i++) {
    const c = name.charCodeAt(i);
    ok = c < 0x80 && TOKEN_BYTE[c] === 1;
  }
  if (!ok) fail('ERR_PROTOCOL_BAD_HEADER', 'header name is not a token');
  return name;
}

/**
 * The value as it goes on the wire: the string itself when ASCII, else its UTF-8 bytes. Checked
 * and classified in one pass (no regex, no second scan).
 */
function wireValue(name: string, value: string): string | Uint8Array {
  let ascii = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d)
      fail('ERR_PROTOCOL_BAD_HEADER', `header ${name} has a NUL, CR or LF in its value`);
    if (c > 0x7f) ascii = false;
  }
  return ascii ? value : utf8(value);
}

export function encodeHeaders(headers: HeaderList): EncodedHeaders {
  assertHeaderCount(headers.length);
  const parts: Array<string | Uint8Array> = [];
  let size = 2;
  let total = 0;
  for (let i = 0; i < headers.length; i++) {
    const field = headers[i]!;
    const name = field[0];
    const n = wireName(name);
    const v = wireValue(name, field[1]);
    const nl = n.length;
    const vl = byteLength(v);
    if (nl > Limits.MAX_HEADER_NAME_BYTES)
      fail('ERR_PROTOCOL_OVERSIZE', `header name is ${nl} bytes, limit ${Limits.MAX_HEADER_NAME_BYTES}`);
    if (vl > Limits.MAX_HEADER_VALUE_BYTES)
      fail('ERR_PROTOCOL_OVERSIZE', `header ${name} is ${vl} bytes, limit ${Limits.MAX_HEADER_VALUE_BYTES}`);
    total += nl + vl;
    parts.push(n, v);
    size += 1 + nl + 2 + vl;
  }
  if (total > Limits.MAX_HEADER_BYTES) {
    fail('ERR_PROTOCOL_OVERSIZE', `header block is ${total} bytes, limit ${Limits.MAX_HEADER_BYTES}`);
  }
  return { parts, size };
}

function writePart(w: Writer, part: string | Uint8Array): void {
  if (typeof part === 'string') w.ascii(part);
  else w.raw(part);
}

export function writeHeaders(w: Writer, h: EncodedHeaders): void {
  w.u16(h.parts.length / 2);
  for (let i = 0; i < h.parts.length; i += 2) {
    const n = h.parts[i]!;
    const v = h.parts[i + 1]!;
    w.u8(byteLength(n));
    writePart(w, n);
    w.u16(byteLength(v));
    writePart(w, v);
  }
}

export function readHeaders(r: Reader): HeaderList {
  const count = r.u16('header count');
  assertHeaderCount(count);
  const out: HeaderList = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const before = r.remaining;
    // Both are checked byte by byte as they are read (assertHeader's rules, without its regexes).
    const name = r.tokenStr8(Limits.MAX_HEADER_NAME_BYTES, 'header name');
    if (name === null) fail('ERR_PROTOCOL_BAD_HEADER', 'header name is not a token');
    const value = r.fieldStr16(Limits.MAX_HEADER_VALUE_BYTES, 'header value');
    if (value === null) fail('ERR_PROTOCOL_BAD_HEADER', `header ${name} has a NUL, CR or LF in its value`);
    // UTF-8 bytes on the wire (minus the 1 + 2 length bytes), as the encoder counts them.
    total += before - r.remaining - 3;
    if (total > Limits.MAX_HEADER_BYTES) {
      fail('ERR_PROTOCOL_OVERSIZE', `header block exceeds ${Limits.MAX_HEADER_BYTES} bytes`);
    }
    out.push([name, value]);
  }
  return out;
}
