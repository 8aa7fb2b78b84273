import { allocUnsafe } from './binary.js';
import { FRAME_HEADER_BYTES, FrameType, Limits } from './constants.js';
import { encodeFrame } from './encode-frame.js';
import { fail } from './frame-checks.js';
import type { HeaderList } from './frames.js';
import { writeFrameHead, writeWsHead, wsHeadBytes } from './ws-head.js';

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
  const out = allocUnsafe(size);
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
