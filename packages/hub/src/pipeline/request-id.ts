import { randomFillSync } from 'node:crypto';

// Random bytes for 256 ids at a time, as Node's own randomUUID keeps a pool (its refill is the cost).
const POOL = Buffer.allocUnsafe(16 * 256);
let offset = POOL.length;
const HEX = Buffer.from('0123456789abcdef', 'latin1');
// The id is written here as ASCII and read out as one flat string.
const TEXT = Buffer.allocUnsafe(36);

/**
 * A random (version 4) UUID, the format of `crypto.randomUUID()`, as one flat string. Node's builds
 * it from 20 concatenated pieces (~600 B of temporary strings per request), which the header
 * encoder and Node's header check then flatten again; the id goes into the upstream headers, the
 * response and the access line of every request.
 */
export function randomRequestId(): string {
  if (offset === POOL.length) {
    randomFillSync(POOL);
    offset = 0;
  }
  const at = offset;
  offset += 16;
  let j = 0;
  for (let i = 0; i < 16; i++) {
    let v = POOL[at + i]!;
    if (i === 6)
      v = (v & 0x0f) | 0x40; // version 4
    else if (i === 8) v = (v & 0x3f) | 0x80; // RFC 9562 variant
    TEXT[j++] = HEX[v >> 4]!;
    TEXT[j++] = HEX[v & 0x0f]!;
    if (i === 3 || i === 5 || i === 7 || i === 9) TEXT[j++] = 0x2d; // '-'
  }
  return TEXT.toString('latin1', 0, 36);
}
