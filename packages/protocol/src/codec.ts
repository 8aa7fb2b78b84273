/**
 * The frame codec: every frame type to and from bytes, validated alike both ways
 * (docs/protocol.md). Split by concept: encode-frame.ts, decode-frame.ts, the header block
 * (header-block.ts) and the field checks they share (frame-checks.ts).
 */
export { decodeFrame } from './decode-frame.js';
export { encodeData, encodeDataHead, encodeFrame } from './encode-frame.js';
