import type { ServerResponse } from 'node:http';

const EMPTY = Buffer.alloc(0);
// A field value with a byte beyond visible ASCII (obs-text, RFC 9110 §5.5): Latin-1 on the wire.
const NON_ASCII = /[^\u0020-\u007e\t]/;

/**
 * Sends a response head that `writeHead` stored, before any body byte. Node's `flushHeaders()`
 * writes the head as UTF-8, which turns an upstream's Latin-1 byte (é, 0xE9) into two (0xC3 0xA9);
 * an empty Buffer write sends it as Latin-1, byte for byte, as when the head leaves with the body.
 * Over HTTP/2 the head is a HEADERS frame and `flushHeaders()` is right.
 */
export function flushHead(res: ServerResponse, raw: readonly string[]): void {
  if (res.req?.httpVersionMajor === 1 && raw.some((v, i) => i % 2 === 1 && NON_ASCII.test(v))) {
    res.write(EMPTY);
    return;
  }
  res.flushHeaders();
}
