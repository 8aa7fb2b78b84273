import { Reader } from './binary.js';
import {
  FrameFlags,
  FrameType,
  type FrameTypeName,
  Limits,
  ResetCode,
  type ResetCodeValue,
} from './constants.js';
import { checkMethod, checkRange, checkStreamId, checkTarget, fail } from './frame-checks.js';
import type { Frame } from './frames.js';
import { readHeaders } from './header-block.js';

const TYPE_NAMES: ReadonlyMap<number, FrameTypeName> = new Map(
  Object.entries(FrameType).map(([name, code]) => [code, name as FrameTypeName]),
);
const RESET_CODES: ReadonlySet<number> = new Set(Object.values(ResetCode));

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
      checkDataPayload(data.byteLength);
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

function checkDataPayload(bytes: number): void {
  if (bytes === 0) fail('ERR_PROTOCOL_BAD_VALUE', 'DATA frame is empty');
  if (bytes > Limits.MAX_DATA_BYTES) fail('ERR_PROTOCOL_OVERSIZE', 'DATA payload too large');
}

/**
 * What `decodeFrame` checks of a DATA frame, for one whose payload (`payloadBytes` long) arrives
 * in pieces (DataTap): the same ProtocolError for the same fault.
 */
export function checkDataFrame(streamId: number, payloadBytes: number): void {
  checkStreamId('DATA', streamId);
  checkDataPayload(payloadBytes);
}
