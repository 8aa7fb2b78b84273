import { FRAME_HEADER_BYTES } from './constants.js';

// The WebSocket framing (RFC 6455 §5.2) our peers write themselves when they send around the
// WebSocket library: a DATA head on the raw path, a whole small response in one write.

/** Bytes of the WebSocket header of a final binary message of `n` bytes. */
export function wsHeadBytes(n: number, masked: boolean): number {
  return 2 + (n > 65_535 ? 8 : n > 125 ? 2 : 0) + (masked ? 4 : 0);
}

/**
 * Writes that header at `at` and returns the offset after it. `masked` (a client: the agent) sets
 * the mask bit with an all-zero masking key, so the payload goes out unchanged; a zero key is a
 * valid mask that any server removes with the same XOR.
 */
export function writeWsHead(out: Uint8Array, at: number, n: number, masked: boolean): number {
  let p = at;
  out[p++] = 0x82; // FIN + binary opcode
  const maskBit = masked ? 0x80 : 0;
  if (n > 65_535) {
    out[p++] = maskBit | 127;
    for (let i = 0; i < 4; i++) out[p++] = 0; // MAX_FRAME_BYTES keeps the high half zero
    out[p++] = n >>> 24;
    out[p++] = n >>> 16;
    out[p++] = n >>> 8;
    out[p++] = n;
  } else if (n > 125) {
    out[p++] = maskBit | 126;
    out[p++] = n >>> 8;
    out[p++] = n;
  } else {
    out[p++] = maskBit | n;
  }
  if (masked) for (let i = 0; i < 4; i++) out[p++] = 0;
  return p;
}

/** Writes our 5-byte frame envelope (type, stream id) at `at`; returns the offset after it. */
export function writeFrameHead(out: Uint8Array, at: number, type: number, streamId: number): number {
  out[at] = type;
  out[at + 1] = streamId >>> 24;
  out[at + 2] = streamId >>> 16;
  out[at + 3] = streamId >>> 8;
  out[at + 4] = streamId;
  return at + FRAME_HEADER_BYTES;
}
