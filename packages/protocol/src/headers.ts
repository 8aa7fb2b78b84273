import { utf8 } from './binary.js';
import { Limits } from './constants.js';
import { ProtocolError } from './errors.js';
import type { HeaderList } from './frames.js';

// RFC 9110 token characters: ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: any octet but NUL, CR and LF (obs-text allowed, as Node's parser does).
const BAD_VALUE = /[\0\r\n]/;

/** True when `s` is an RFC 9110 token (header names, methods). */
export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

/** Throws ERR_PROTOCOL_BAD_HEADER unless name and value are legal on an HTTP/1.1 wire. */
export function assertHeader(name: string, value: string): void {
  if (!TOKEN.test(name)) throw new ProtocolError('ERR_PROTOCOL_BAD_HEADER', 'header name is not a token');
  if (BAD_VALUE.test(value)) {
    throw new ProtocolError('ERR_PROTOCOL_BAD_HEADER', `header ${name} has a NUL, CR or LF in its value`);
  }
}

/**
 * Whether an HTTP/1.1 writer takes this field value: HTAB, visible ASCII and obs-text only (no
 * other control character, nothing above U+00FF), as Node's and undici's writers require. The
 * protocol lets values carry more (anything but NUL, CR and LF), so both ends check before
 * writing. One pass, no regex: it runs for every field of every request and response.
 */
export function isWritableFieldValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1) never cross a proxy. `proxy-connection` is the legacy spelling
 * some clients still send.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** True for fields that are hop-by-hop by definition (not counting those named by Connection). */
export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name.toLowerCase());
}

/**
 * Returns the header list without hop-by-hop fields, including those the Connection header names.
 * `raw` is Node's `rawHeaders` shape: [name, value, name, value, ...].
 */
export function stripHopByHop(raw: readonly string[], drop?: (lowerName: string) => boolean): HeaderList {
  // Fields the Connection header names; those hop-by-hop anyway (`keep-alive`, sent with nearly
  // every response) need no set. Only a 10-character name can be `connection`: the others are
  // not lower-cased for this pass.
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.split(',')) {
      const t = token.trim().toLowerCase();
      if (!t || HOP_BY_HOP.has(t)) continue;
      named ??= new Set();
      named.add(t);
    }
  }
  const out: HeaderList = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower) || drop?.(lower)) continue;
    out.push([lower, raw[i + 1]!]);
  }
  return out;
}

/** Counts the UTF-8 bytes a header list takes against Limits.MAX_HEADER_BYTES. */
export function headerBytes(headers: HeaderList): number {
  let n = 0;
  for (const [k, v] of headers) n += utf8(k).byteLength + utf8(v).byteLength;
  return n;
}

export function assertHeaderCount(count: number): void {
  if (count > Limits.MAX_HEADERS) {
    throw new ProtocolError(
      'ERR_PROTOCOL_TOO_MANY_HEADERS',
      `${count} header fields, limit ${Limits.MAX_HEADERS}`,
    );
  }
}
