import { FRAME_HEADER_BYTES, FrameType, Limits } from './constants.js';
import { encodeFrame } from './encode-frame.js';
import { fail } from './frame-checks.js';
import type { HeaderList } from './frames.js';

// Node's Buffer when present (no zero-fill, small sizes from its pool; a socket takes it as it is).
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe(size: number): Uint8Array } }).Buffer;
const alloc = (size: number): Uint8Array =>
  NodeBuffer ? NodeBuffer.allocUnsafe(size) : new Uint8Array(size);

/** Bytes of the WebSocket header (RFC 6455 §5.2) of a final binary message of `n` bytes. */
function wsHeadBytes(n: number, masked: boolean): number {
  return 2 + (n > 65_535 ? 8 : n > 125 ? 2 : 0) + (masked ? 4 : 0);
}

/** Writes that header at `at` (a zero masking key when `masked`); returns the offset after it. */
function writeWsHead(out: Uint8Array, at: number, n: number, masked: boolean): number {
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

/** Writes our 5-byte frame header (type, stream id). */
function writeFrameHead(out: Uint8Array, at: number, type: number, streamId: number): number {
  out[at] = type;
  out[at + 1] = streamId >>> 24;
  out[at + 2] = streamId >>> 16;
  out[at + 3] = streamId >>> 8;
  out[at + 4] = streamId;
  return at + FRAME_HEADER_BYTES;
}

/**
 * A complete response as the bytes of its WebSocket messages back to back, for one socket write:
 * RESPONSE, one DATA holding `body` (none when it is empty) and END, exactly the frames a DataPump
 * would send for a body that fits the window. A small upstream answer then costs one buffer and
 * one write instead of a buffer, a WebSocket send and two writes per frame. `masked`: a client's
 * frames, with the zero masking key the raw DATA path uses (see encodeDataHead).
 */
export function encodeWholeResponse(
  streamId: number,
  status: number,
  headers: HeaderList,
  body: readonly Uint8Array[],
  length: number,
  masked: boolean,
): Uint8Array {
  // validates the stream id, the status and the header block as encodeFrame always does
  const head = encodeFrame({ type: 'RESPONSE', streamId, endStream: false, status, headers });
  if (length > Limits.MAX_DATA_BYTES) {
    fail('ERR_PROTOCOL_OVERSIZE', `DATA is ${length} bytes, limit ${Limits.MAX_DATA_BYTES}`);
  }
  const dataN = FRAME_HEADER_BYTES + length;
  let size = wsHeadBytes(head.byteLength, masked) + head.byteLength;
  if (length > 0) size += wsHeadBytes(dataN, masked) + dataN;
  size += wsHeadBytes(FRAME_HEADER_BYTES, masked) + FRAME_HEADER_BYTES;
  const out = alloc(size);
  let p = writeWsHead(out, 0, head.byteLength, masked);
  out.set(head, p);
  p += head.byteLength;
  if (length > 0) {
    p = writeWsHead(out, p, dataN, masked);
    p = writeFrameHead(out, p, FrameType.DATA, streamId);
    for (const chunk of body) {
      out.set(chunk, p);
      p += chunk.byteLength;
    }
  }
  p = writeWsHead(out, p, FRAME_HEADER_BYTES, masked);
  writeFrameHead(out, p, FrameType.END, streamId);
  return out;
}
