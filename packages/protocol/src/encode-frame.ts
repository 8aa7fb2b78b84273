import { allocUnsafe, isAscii, utf8, Writer } from './binary.js';
import {
  FRAME_HEADER_BYTES,
  FrameFlags,
  FrameType,
  type FrameTypeName,
  Limits,
  ResetCode,
} from './constants.js';
import { checkMethod, checkRange, checkStreamId, checkTarget, checkText, fail } from './frame-checks.js';
import type { Frame } from './frames.js';
import { encodeHeaders, writeHeaders } from './header-block.js';
import { writeFrameHead, writeWsHead, wsHeadBytes } from './ws-head.js';

const RESET_CODES: ReadonlySet<number> = new Set(Object.values(ResetCode));

function start(type: FrameTypeName, streamId: number, payload: number): Writer {
  const size = FRAME_HEADER_BYTES + payload;
  if (size > Limits.MAX_FRAME_BYTES) fail('ERR_PROTOCOL_OVERSIZE', `${type} frame would be ${size} bytes`);
  const w = new Writer(size);
  w.u8(FrameType[type]);
  w.u32(streamId);
  return w;
}

/**
 * Encodes one frame. Validates like the decoder does, so a bug on our side surfaces as a
 * ProtocolError here rather than as a closed connection at the peer.
 */
export function encodeFrame(frame: Frame): Uint8Array {
  checkStreamId(frame.type, frame.streamId);
  switch (frame.type) {
    case 'HELLO': {
      checkRange('minVersion', frame.minVersion, 1, 0xffff);
      checkRange('maxVersion', frame.maxVersion, frame.minVersion, 0xffff);
      checkRange('slots', frame.slots, 1, Limits.MAX_SLOTS);
      checkRange('streamWindow', frame.streamWindow, 1, Limits.MAX_WINDOW);
      const texts = [frame.name, frame.agentId, frame.upstream, frame.software].map(utf8);
      for (const [i, t] of texts.entries()) {
        checkText(['name', 'agentId', 'upstream', 'software'][i]!, t, Limits.MAX_TEXT_BYTES);
      }
      const hw = utf8(frame.hardware);
      checkText('hardware', hw, Limits.MAX_HARDWARE_BYTES);
      const size = 12 + texts.reduce((n, t) => n + 2 + t.byteLength, 0) + 2 + hw.byteLength;
      const w = start('HELLO', 0, size);
      w.u16(frame.minVersion);
      w.u16(frame.maxVersion);
      w.u32(frame.slots);
      w.u32(frame.streamWindow);
      for (const t of texts) w.str16(t);
      w.str16(hw);
      return w.bytes;
    }
    case 'WELCOME': {
      checkRange('version', frame.version, 1, 0xffff);
      checkRange('streamWindow', frame.streamWindow, 1, Limits.MAX_WINDOW);
      checkRange('heartbeatMs', frame.heartbeatMs, 0, 0xffff_ffff);
      const id = utf8(frame.agentId);
      checkText('agentId', id, Limits.MAX_TEXT_BYTES);
      const w = start('WELCOME', 0, 10 + 2 + id.byteLength);
      w.u16(frame.version);
      w.u32(frame.streamWindow);
      w.u32(frame.heartbeatMs);
      w.str16(id);
      return w.bytes;
    }
    case 'CREDIT': {
      checkRange('credit count', frame.count, 1, Limits.MAX_CREDITS);
      const w = start('CREDIT', 0, 4);
      w.u32(frame.count);
      return w.bytes;
    }
    case 'REQUEST': {
      checkMethod(frame.method);
      checkTarget(frame.target);
      // The method is a token (ASCII) and the target nearly always ASCII: their char codes are
      // their bytes, written straight into the frame (no Uint8Array per string per request).
      const method = frame.method;
      const target = isAscii(frame.target) ? frame.target : utf8(frame.target);
      const targetBytes = typeof target === 'string' ? target.length : target.byteLength;
      if (targetBytes > Limits.MAX_TARGET_BYTES)
        fail('ERR_PROTOCOL_OVERSIZE', `target is ${targetBytes} bytes, limit ${Limits.MAX_TARGET_BYTES}`);
      if (frame.upgrade === true && frame.endStream)
        fail('ERR_PROTOCOL_BAD_VALUE', 'an UPGRADE request cannot end its stream');
      const h = encodeHeaders(frame.headers);
      const w = start('REQUEST', frame.streamId, 1 + 1 + method.length + 2 + targetBytes + h.size);
      w.u8((frame.endStream ? FrameFlags.END_STREAM : 0) | (frame.upgrade === true ? FrameFlags.UPGRADE : 0));
      w.u8(method.length);
      w.ascii(method);
      w.u16(targetBytes);
      if (typeof target === 'string') w.ascii(target);
      else w.raw(target);
      writeHeaders(w, h);
      return w.bytes;
    }
    case 'RESPONSE': {
      checkRange('status', frame.status, 100, 599);
      const h = encodeHeaders(frame.headers);
      const w = start('RESPONSE', frame.streamId, 1 + 2 + h.size);
      w.u8(frame.endStream ? FrameFlags.END_STREAM : 0);
      w.u16(frame.status);
      writeHeaders(w, h);
      return w.bytes;
    }
    case 'DATA':
      return encodeData(frame.streamId, frame.data);
    case 'END':
      return start('END', frame.streamId, 0).bytes;
    case 'WINDOW': {
      checkRange('window increment', frame.increment, 1, Limits.MAX_WINDOW);
      const w = start('WINDOW', frame.streamId, 4);
      w.u32(frame.increment);
      return w.bytes;
    }
    case 'RESET':
    case 'GOAWAY': {
      if (frame.type === 'RESET' && !RESET_CODES.has(frame.code))
        fail('ERR_PROTOCOL_BAD_VALUE', 'unknown reset code');
      checkRange('code', frame.code, 0, 0xffff);
      const msg = utf8(frame.message);
      checkText('message', msg, Limits.MAX_TEXT_BYTES);
      const w = start(frame.type, frame.streamId, 2 + 2 + msg.byteLength);
      w.u16(frame.code);
      w.str16(msg);
      return w.bytes;
    }
    case 'TRAILERS': {
      const h = encodeHeaders(frame.headers);
      const w = start('TRAILERS', frame.streamId, h.size);
      writeHeaders(w, h);
      return w.bytes;
    }
    case 'STATUS': {
      if (typeof frame.upstreamHealthy !== 'boolean')
        fail('ERR_PROTOCOL_BAD_VALUE', 'upstreamHealthy must be a boolean');
      const reason = utf8(frame.reason);
      checkText('reason', reason, Limits.MAX_TEXT_BYTES);
      const w = start('STATUS', 0, 1 + 2 + reason.byteLength);
      w.u8(frame.upstreamHealthy ? 1 : 0);
      w.str16(reason);
      return w.bytes;
    }
  }
}

/** Encodes a DATA frame (the hot path: one allocation, one copy). */
export function encodeData(streamId: number, data: Uint8Array): Uint8Array {
  checkStreamId('DATA', streamId);
  if (data.byteLength === 0) fail('ERR_PROTOCOL_BAD_VALUE', 'DATA frame is empty');
  if (data.byteLength > Limits.MAX_DATA_BYTES) {
    fail('ERR_PROTOCOL_OVERSIZE', `DATA is ${data.byteLength} bytes, limit ${Limits.MAX_DATA_BYTES}`);
  }
  const w = start('DATA', streamId, data.byteLength);
  w.raw(data);
  return w.bytes;
}

/**
 * The bytes that precede a DATA payload on the wire when the payload is written as it is, without
 * copying it into a frame: the WebSocket frame header of a final binary message (RFC 6455 §5.2)
 * holding `FRAME_HEADER_BYTES + length` bytes, then this protocol's type and stream id. `masked`
 * (a client: the agent) sets the mask bit with an all-zero masking key, so the payload goes out
 * unchanged; a zero key is a valid mask that any server removes with the same XOR.
 */
export function encodeDataHead(streamId: number, length: number, masked: boolean): Uint8Array {
  checkStreamId('DATA', streamId);
  if (!Number.isInteger(length) || length < 1) fail('ERR_PROTOCOL_BAD_VALUE', 'DATA frame is empty');
  if (length > Limits.MAX_DATA_BYTES) {
    fail('ERR_PROTOCOL_OVERSIZE', `DATA is ${length} bytes, limit ${Limits.MAX_DATA_BYTES}`);
  }
  const n = FRAME_HEADER_BYTES + length;
  const out = allocUnsafe(wsHeadBytes(n, masked) + FRAME_HEADER_BYTES);
  writeFrameHead(out, writeWsHead(out, 0, n, masked), FrameType.DATA, streamId);
  return out;
}
