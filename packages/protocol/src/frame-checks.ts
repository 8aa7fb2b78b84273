import { CONNECTION_FRAMES, type FrameTypeName, Limits } from './constants.js';
import { ProtocolError } from './errors.js';
import { isToken } from './headers.js';

/** Field checks shared by the encoder and the decoder: both reject the same frames the same way. */

export function fail(code: ConstructorParameters<typeof ProtocolError>[0], message: string): never {
  throw new ProtocolError(code, message);
}

export function checkStreamId(type: FrameTypeName, streamId: number): void {
  if (!Number.isInteger(streamId) || streamId < 0 || streamId > Limits.MAX_STREAM_ID) {
    fail('ERR_PROTOCOL_BAD_STREAM_ID', `${type} has stream id ${streamId} outside u32`);
  }
  const connection = CONNECTION_FRAMES.has(type);
  if (connection && streamId !== 0) fail('ERR_PROTOCOL_BAD_STREAM_ID', `${type} must use stream 0`);
  if (!connection && streamId === 0) fail('ERR_PROTOCOL_BAD_STREAM_ID', `${type} needs a non-zero stream id`);
}

export function checkRange(what: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    fail('ERR_PROTOCOL_BAD_VALUE', `${what} is ${v}, must be an integer in [${min}, ${max}]`);
  }
}

export function checkMethod(method: string): void {
  if (method.length === 0 || method.length > Limits.MAX_METHOD_BYTES || !isToken(method)) {
    fail('ERR_PROTOCOL_BAD_VALUE', 'method is not an HTTP token');
  }
}

/** A request target is origin-form ("/path?q") or "*". */
export function checkTarget(target: string): void {
  let ok = target === '*' || target.startsWith('/');
  for (let i = 0; ok && i < target.length; i++) {
    const c = target.charCodeAt(i);
    // control characters, space and DEL would let a target smuggle a second request line
    if (c <= 0x20 || c === 0x7f) ok = false;
  }
  if (!ok) fail('ERR_PROTOCOL_BAD_VALUE', 'request target must be "/..." or "*" without spaces');
}

export function checkText(what: string, bytes: Uint8Array, max: number): void {
  if (bytes.byteLength > max)
    fail('ERR_PROTOCOL_OVERSIZE', `${what} is ${bytes.byteLength} bytes, limit ${max}`);
}
