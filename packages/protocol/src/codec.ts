import { isAscii, Reader, utf8, Writer } from './binary.js';
import {
  CONNECTION_FRAMES,
  FRAME_HEADER_BYTES,
  FrameFlags,
  FrameType,
  type FrameTypeName,
  Limits,
  ResetCode,
  type ResetCodeValue,
} from './constants.js';
import { ProtocolError } from './errors.js';
import type { Frame, HeaderList } from './frames.js';
import { assertHeader, assertHeaderCount, isToken } from './headers.js';

const TYPE_NAMES: ReadonlyMap<number, FrameTypeName> = new Map(
  Object.entries(FrameType).map(([name, code]) => [code, name as FrameTypeName]),
);
const RESET_CODES: ReadonlySet<number> = new Set(Object.values(ResetCode));

function fail(code: ConstructorParameters<typeof ProtocolError>[0], message: string): never {
  throw new ProtocolError(code, message);
}

function checkStreamId(type: FrameTypeName, streamId: number): void {
  if (!Number.isInteger(streamId) || streamId < 0 || streamId > Limits.MAX_STREAM_ID) {
    fail('ERR_PROTOCOL_BAD_STREAM_ID', `${type} has stream id ${streamId} outside u32`);
  }
  const connection = CONNECTION_FRAMES.has(type);
  if (connection && streamId !== 0) fail('ERR_PROTOCOL_BAD_STREAM_ID', `${type} must use stream 0`);
  if (!connection && streamId === 0) fail('ERR_PROTOCOL_BAD_STREAM_ID', `${type} needs a non-zero stream id`);
}

function checkRange(what: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    fail('ERR_PROTOCOL_BAD_VALUE', `${what} is ${v}, must be an integer in [${min}, ${max}]`);
  }
}

function checkMethod(method: string): void {
  if (method.length === 0 || method.length > Limits.MAX_METHOD_BYTES || !isToken(method)) {
    fail('ERR_PROTOCOL_BAD_VALUE', 'method is not an HTTP token');
  }
}

// A request target is origin-form ("/path?q") or "*".
function checkTarget(target: string): void {
  let ok = target === '*' || target.startsWith('/');
  for (let i = 0; ok && i < target.length; i++) {
    const c = target.charCodeAt(i);
    // control characters, space and DEL would let a target smuggle a second request line
    if (c <= 0x20 || c === 0x7f) ok = false;
  }
  if (!ok) fail('ERR_PROTOCOL_BAD_VALUE', 'request target must be "/..." or "*" without spaces');
}

function checkText(what: string, bytes: Uint8Array, max: number): void {
  if (bytes.byteLength > max)
    fail('ERR_PROTOCOL_OVERSIZE', `${what} is ${bytes.byteLength} bytes, limit ${max}`);
}

interface EncodedHeaders {
  /** name, value, name, value...: ASCII strings as they are (written char by char), others as UTF-8. */
  parts: Array<string | Uint8Array>;
  size: number;
}

/** ASCII text stays a string (its length is its byte count); anything else is encoded once. */
function wireText(text: string): string | Uint8Array {
  return isAscii(text) ? text : utf8(text);
}

function byteLength(part: string | Uint8Array): number {
  return typeof part === 'string' ? part.length : part.byteLength;
}

function encodeHeaders(headers: HeaderList): EncodedHeaders {
  assertHeaderCount(headers.length);
  const parts: Array<string | Uint8Array> = [];
  let size = 2;
  let total = 0;
  for (const [name, value] of headers) {
    assertHeader(name, value);
    const n = wireText(name);
    const v = wireText(value);
    const nl = byteLength(n);
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

function writeHeaders(w: Writer, h: EncodedHeaders): void {
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

function readHeaders(r: Reader): HeaderList {
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
      const method = utf8(frame.method);
      const target = utf8(frame.target);
      checkText('target', target, Limits.MAX_TARGET_BYTES);
      if (frame.upgrade === true && frame.endStream)
        fail('ERR_PROTOCOL_BAD_VALUE', 'an UPGRADE request cannot end its stream');
      const h = encodeHeaders(frame.headers);
      const w = start('REQUEST', frame.streamId, 1 + 1 + method.byteLength + 2 + target.byteLength + h.size);
      w.u8((frame.endStream ? FrameFlags.END_STREAM : 0) | (frame.upgrade === true ? FrameFlags.UPGRADE : 0));
      w.str8(method);
      w.str16(target);
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
  const ext = n > 65_535 ? 8 : n > 125 ? 2 : 0;
  const wsHead = 2 + ext + (masked ? 4 : 0);
  const w = new Writer(wsHead + FRAME_HEADER_BYTES);
  w.u8(0x82); // FIN + binary opcode
  const maskBit = masked ? 0x80 : 0;
  if (ext === 8) {
    w.u8(maskBit | 127);
    w.u32(0); // MAX_DATA_BYTES keeps the high half zero
    w.u32(n);
  } else if (ext === 2) {
    w.u8(maskBit | 126);
    w.u16(n);
  } else {
    w.u8(maskBit | n);
  }
  if (masked) w.u32(0);
  w.u8(FrameType.DATA);
  w.u32(streamId);
  return w.bytes;
}

/**
 * Decodes one frame, validating every field. Throws ProtocolError with a stable code on any
 * malformed input; never anything else. DATA payloads are views into `bytes` (no copy).
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.byteLength > Limits.MAX_FRAME_BYTES) {
    fail('ERR_PROTOCOL_OVERSIZE', `frame is ${bytes.byteLength} bytes, limit ${Limits.MAX_FRAME_BYTES}`);
  }
  const r = new Reader(bytes);
  const code = r.u8('frame type');
  const type = TYPE_NAMES.get(code);
  if (type === undefined) fail('ERR_PROTOCOL_UNKNOWN_TYPE', `unknown frame type 0x${code.toString(16)}`);
  const streamId = r.u32('stream id');
  checkStreamId(type, streamId);
  switch (type) {
    case 'HELLO': {
      const minVersion = r.u16('minVersion');
      const maxVersion = r.u16('maxVersion');
      checkRange('minVersion', minVersion, 1, 0xffff);
      checkRange('maxVersion', maxVersion, minVersion, 0xffff);
      const slots = r.u32('slots');
      checkRange('slots', slots, 1, Limits.MAX_SLOTS);
      const streamWindow = r.u32('streamWindow');
      checkRange('streamWindow', streamWindow, 1, Limits.MAX_WINDOW);
      const name = r.str16(Limits.MAX_TEXT_BYTES, 'name');
      const agentId = r.str16(Limits.MAX_TEXT_BYTES, 'agentId');
      const upstream = r.str16(Limits.MAX_TEXT_BYTES, 'upstream');
      const software = r.str16(Limits.MAX_TEXT_BYTES, 'software');
      const hardware = r.str16(Limits.MAX_HARDWARE_BYTES, 'hardware');
      r.end('HELLO');
      return {
        type,
        streamId: 0,
        minVersion,
        maxVersion,
        slots,
        streamWindow,
        name,
        agentId,
        upstream,
        software,
        hardware,
      };
    }
    case 'WELCOME': {
      const version = r.u16('version');
      checkRange('version', version, 1, 0xffff);
      const streamWindow = r.u32('streamWindow');
      checkRange('streamWindow', streamWindow, 1, Limits.MAX_WINDOW);
      const heartbeatMs = r.u32('heartbeatMs');
      const agentId = r.str16(Limits.MAX_TEXT_BYTES, 'agentId');
      r.end('WELCOME');
      return { type, streamId: 0, version, streamWindow, heartbeatMs, agentId };
    }
    case 'CREDIT': {
      const count = r.u32('credit count');
      checkRange('credit count', count, 1, Limits.MAX_CREDITS);
      r.end('CREDIT');
      return { type, streamId: 0, count };
    }
    case 'REQUEST': {
      const flags = r.u8('flags');
      const method = r.str8(Limits.MAX_METHOD_BYTES, 'method');
      checkMethod(method);
      const target = r.str16(Limits.MAX_TARGET_BYTES, 'target');
      checkTarget(target);
      const headers = readHeaders(r);
      r.end('REQUEST');
      const endStream = (flags & FrameFlags.END_STREAM) !== 0;
      if ((flags & FrameFlags.UPGRADE) === 0) return { type, streamId, endStream, method, target, headers };
      if (endStream) fail('ERR_PROTOCOL_BAD_VALUE', 'an UPGRADE request cannot end its stream');
      return { type, streamId, endStream, upgrade: true, method, target, headers };
    }
    case 'RESPONSE': {
      const flags = r.u8('flags');
      const status = r.u16('status');
      checkRange('status', status, 100, 599);
      const headers = readHeaders(r);
      r.end('RESPONSE');
      return { type, streamId, endStream: (flags & FrameFlags.END_STREAM) !== 0, status, headers };
    }
    case 'DATA': {
      const data = r.bytes(r.remaining, 'DATA');
      if (data.byteLength === 0) fail('ERR_PROTOCOL_BAD_VALUE', 'DATA frame is empty');
      if (data.byteLength > Limits.MAX_DATA_BYTES) fail('ERR_PROTOCOL_OVERSIZE', 'DATA payload too large');
      return { type, streamId, data };
    }
    case 'END':
      r.end('END');
      return { type, streamId };
    case 'WINDOW': {
      const increment = r.u32('window increment');
      checkRange('window increment', increment, 1, Limits.MAX_WINDOW);
      r.end('WINDOW');
      return { type, streamId, increment };
    }
    case 'RESET': {
      const resetCode = r.u16('reset code');
      if (!RESET_CODES.has(resetCode)) fail('ERR_PROTOCOL_BAD_VALUE', `unknown reset code ${resetCode}`);
      const message = r.str16(Limits.MAX_TEXT_BYTES, 'reset message');
      r.end('RESET');
      return { type, streamId, code: resetCode as ResetCodeValue, message };
    }
    case 'GOAWAY': {
      const goawayCode = r.u16('goaway code');
      const message = r.str16(Limits.MAX_TEXT_BYTES, 'goaway message');
      r.end('GOAWAY');
      return { type, streamId: 0, code: goawayCode, message };
    }
    case 'TRAILERS': {
      const headers = readHeaders(r);
      r.end('TRAILERS');
      return { type, streamId, headers };
    }
    case 'STATUS': {
      const healthy = r.u8('upstreamHealthy');
      // 0 or 1 only: a second spelling of "true" would hide a peer's encoding bug
      checkRange('upstreamHealthy', healthy, 0, 1);
      const reason = r.str16(Limits.MAX_TEXT_BYTES, 'status reason');
      r.end('STATUS');
      return { type, streamId: 0, upstreamHealthy: healthy === 1, reason };
    }
  }
}
