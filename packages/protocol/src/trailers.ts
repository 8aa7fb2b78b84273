import { Limits } from './constants.js';
import type { HeaderList } from './frames.js';
import { isToken, isWritableFieldValue } from './headers.js';

/**
 * Fields that never travel as trailers: they frame, route or authenticate the message and a
 * recipient would have to process them before the content (RFC 9110 §6.5.1).
 */
const FORBIDDEN: ReadonlySet<string> = new Set([
  'content-length',
  'content-encoding',
  'content-type',
  'content-range',
  'transfer-encoding',
  'trailer',
  'te',
  'host',
  'connection',
  'keep-alive',
  'upgrade',
  'authorization',
  'set-cookie',
  'cookie',
  'cache-control',
  'expect',
  'max-forwards',
  'pragma',
  'range',
]);

/**
 * A trailer section as it may cross the hub: lower-case token names, writable values, no field
 * that belongs in a head, within the protocol's header limits. What does not fit is dropped (a
 * trailer is advisory unless both ends agree otherwise; a broken one must not cost the response).
 */
export function trailerFields(raw: readonly string[]): HeaderList {
  const out: HeaderList = [];
  let bytes = 0;
  for (let i = 0; i + 1 < raw.length && out.length < Limits.MAX_HEADERS; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (FORBIDDEN.has(name) || name.startsWith('slime-') || !isToken(name)) continue;
    if (!isWritableFieldValue(value) || value.length > Limits.MAX_HEADER_VALUE_BYTES) continue;
    if (name.length > Limits.MAX_HEADER_NAME_BYTES) continue;
    bytes += name.length + new TextEncoder().encode(value).byteLength;
    if (bytes > Limits.MAX_HEADER_BYTES) break;
    out.push([name, value]);
  }
  return out;
}
