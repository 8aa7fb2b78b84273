/**
 * Wire protocol version spoken by this build. Agents announce a [min, max] range in HELLO.
 * 2 adds interim RESPONSE frames (status 102/103 before the final head) and STATUS (the agent's
 * upstream health); a version-1 peer never receives either.
 * 3 adds upgraded streams (REQUEST flag UPGRADE, a 101 RESPONSE, then raw bytes both ways) and
 * TRAILERS frames; a peer that negotiated 1 or 2 never receives either.
 */
export const PROTOCOL_VERSION = 3;
/** First version with upgraded streams and TRAILERS. */
export const UPGRADE_VERSION = 3;
/** Oldest protocol version this build still accepts. */
export const MIN_PROTOCOL_VERSION = 1;

/** Bytes before the payload: type (u8) + stream id (u32, big endian). */
export const FRAME_HEADER_BYTES = 5;

/**
 * Hard limits the decoder enforces. They bound the memory a peer can make us allocate with one
 * frame; the WebSocket layer should refuse messages above MAX_FRAME_BYTES before we see them.
 */
export const Limits = {
  /** Largest whole frame (header + payload). */
  MAX_FRAME_BYTES: 2 * 1024 * 1024,
  /** Largest DATA payload. Senders split bigger chunks. */
  MAX_DATA_BYTES: 1024 * 1024,
  /** Most header fields in one REQUEST or RESPONSE. */
  MAX_HEADERS: 256,
  /** Sum of header name and value bytes in one REQUEST or RESPONSE. */
  MAX_HEADER_BYTES: 64 * 1024,
  /** Longest header name. */
  MAX_HEADER_NAME_BYTES: 255,
  /** Longest single header value. */
  MAX_HEADER_VALUE_BYTES: 16 * 1024,
  /** Longest request target (path + query). */
  MAX_TARGET_BYTES: 16 * 1024,
  /** Longest method name. */
  MAX_METHOD_BYTES: 32,
  /** Longest short text field (names, ids, reasons). */
  MAX_TEXT_BYTES: 1024,
  /** Longest hardware description (JSON text) in HELLO. */
  MAX_HARDWARE_BYTES: 8 * 1024,
  /** Largest stream id (u32). */
  MAX_STREAM_ID: 0xffff_ffff,
  /** Largest flow-control window a peer may hold, as in HTTP/2. */
  MAX_WINDOW: 0x7fff_ffff,
  /** Most request credits an agent may grant one hub at once. */
  MAX_CREDITS: 65_535,
  /** Most worker slots an agent may announce. */
  MAX_SLOTS: 65_535,
} as const;

/** Per-stream body window each side grants by default (bytes in flight before a WINDOW). */
export const DEFAULT_STREAM_WINDOW = 256 * 1024;
/** Smallest stream window a peer may announce; below it, throughput collapses. */
export const MIN_STREAM_WINDOW = 16 * 1024;

/** Frame type table. Values are the first byte of every frame. */
export const FrameType = {
  HELLO: 0x01,
  WELCOME: 0x02,
  CREDIT: 0x03,
  REQUEST: 0x04,
  RESPONSE: 0x05,
  DATA: 0x06,
  END: 0x07,
  WINDOW: 0x08,
  RESET: 0x09,
  GOAWAY: 0x0a,
  /** Agent -> hub (version 2): the health of the agent's upstream. */
  STATUS: 0x0b,
  /** Either direction (version 3): trailer fields that end the sender's body, in place of END. */
  TRAILERS: 0x0c,
} as const;
export type FrameTypeName = keyof typeof FrameType;
export type FrameTypeCode = (typeof FrameType)[FrameTypeName];

/** Frames that belong to the connection (stream id 0); all others need a non-zero stream id. */
export const CONNECTION_FRAMES: ReadonlySet<FrameTypeName> = new Set([
  'HELLO',
  'WELCOME',
  'CREDIT',
  'GOAWAY',
  'STATUS',
]);

/** Flag bits of REQUEST and RESPONSE. */
export const FrameFlags = {
  /** No body follows: the sender's side of the stream is already ended. */
  END_STREAM: 0x01,
  /**
   * REQUEST only (version 3): the client asked to switch protocols (`Upgrade`). A 101 RESPONSE
   * turns the stream into a byte tunnel both ways; any other status is an ordinary response.
   */
  UPGRADE: 0x02,
} as const;

/** RESET codes (u16). The hub maps them to the client's status in one place. */
export const ResetCode = {
  /** The sender is done with the stream; nothing went wrong (e.g. response ended before the request body). */
  NO_ERROR: 0,
  /** The hub cancels: the client went away or the request timed out. */
  CANCEL: 1,
  /** The agent refuses a stream it never started (no free slot, draining): safe to dispatch elsewhere. */
  REFUSED: 2,
  /** The upstream could not be connected to. */
  UPSTREAM_CONNECT: 3,
  /** The upstream did not answer in time. */
  UPSTREAM_TIMEOUT: 4,
  /** The upstream failed mid-way or sent something that is not HTTP. */
  UPSTREAM_ERROR: 5,
  /** The peer broke the stream's rules. */
  PROTOCOL_ERROR: 6,
  /** The peer sent more body bytes than its window allowed. */
  FLOW_CONTROL: 7,
  /** Nothing happened on the stream for too long. */
  IDLE_TIMEOUT: 8,
  /** A bug or unexpected failure on the sender's side. */
  INTERNAL: 9,
} as const;
export type ResetCodeName = keyof typeof ResetCode;
export type ResetCodeValue = (typeof ResetCode)[ResetCodeName];

/** WebSocket close codes (4000-4999 are private use per RFC 6455). */
export const CloseCode = {
  /** A normal close (RFC 6455). */
  NORMAL: 1000,
  /** The peer sent a malformed or out-of-order frame. */
  PROTOCOL_ERROR: 4000,
  /** No protocol version both sides support. */
  UNSUPPORTED_VERSION: 4001,
  /** A peer overran a flow-control window or credit. */
  FLOW_CONTROL: 4002,
  /** No pong or frame within the heartbeat timeout. */
  HEARTBEAT_TIMEOUT: 4003,
  /** The hub is shutting down (after GOAWAY and the drain deadline). */
  HUB_SHUTDOWN: 4004,
  /** The agent's token was revoked. */
  TOKEN_REVOKED: 4005,
  /** The agent did not send HELLO in time. */
  HELLO_TIMEOUT: 4006,
  /** The agent is shutting down. */
  AGENT_SHUTDOWN: 4007,
  /** The agent's token expired while connected. */
  TOKEN_EXPIRED: 4008,
} as const;
export type CloseCodeName = keyof typeof CloseCode;
export type CloseCodeValue = (typeof CloseCode)[CloseCodeName];

/** GOAWAY codes (u16). */
export const GoawayCode = {
  /** Graceful drain: finish open streams, take no new ones. */
  DRAIN: 0,
  /** Shutting down because of an error. */
  ERROR: 1,
} as const;
export type GoawayCodeValue = (typeof GoawayCode)[keyof typeof GoawayCode];

/** The WebSocket path agents dial on the hub. */
export const AGENT_PATH = '/_slime/agent';
