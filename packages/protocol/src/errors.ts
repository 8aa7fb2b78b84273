import { CloseCode, type CloseCodeValue } from './constants.js';

/** Stable error codes of the protocol package. */
export type ProtocolErrorCode =
  | 'ERR_PROTOCOL_TRUNCATED'
  | 'ERR_PROTOCOL_OVERSIZE'
  | 'ERR_PROTOCOL_UNKNOWN_TYPE'
  | 'ERR_PROTOCOL_BAD_UTF8'
  | 'ERR_PROTOCOL_TOO_MANY_HEADERS'
  | 'ERR_PROTOCOL_BAD_HEADER'
  | 'ERR_PROTOCOL_BAD_STREAM_ID'
  | 'ERR_PROTOCOL_DUPLICATE_STREAM'
  | 'ERR_PROTOCOL_TRAILING_BYTES'
  | 'ERR_PROTOCOL_BAD_VALUE'
  | 'ERR_PROTOCOL_FLOW_CONTROL'
  | 'ERR_PROTOCOL_STREAM_STATE'
  | 'ERR_PROTOCOL_VERSION'
  | 'ERR_PROTOCOL_BAD_CLAIMS';

/** Thrown for any malformed or illegal input. `code` is stable; the message is for humans. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The WebSocket close code a connection is closed with after `err`. */
export function closeCodeFor(err: ProtocolError): CloseCodeValue {
  switch (err.code) {
    case 'ERR_PROTOCOL_FLOW_CONTROL':
      return CloseCode.FLOW_CONTROL;
    case 'ERR_PROTOCOL_VERSION':
      return CloseCode.UNSUPPORTED_VERSION;
    default:
      return CloseCode.PROTOCOL_ERROR;
  }
}

/** WebSocket close reasons are limited to 123 bytes; longer ones make `ws` throw. */
export function closeReason(text: string): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= 123) return text;
  let cut = 120;
  // back off to a UTF-8 character boundary so the reason stays valid text
  while (cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return `${new TextDecoder().decode(bytes.subarray(0, cut))}...`;
}
