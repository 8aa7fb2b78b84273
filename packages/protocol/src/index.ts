/**
 * The Slime hub-agent wire protocol: frame types, a validating binary codec, flow-control
 * arithmetic, version negotiation and agent token claims. Pure: no I/O, no dependencies.
 *
 * @example
 * ```ts
 * import { decodeFrame, encodeFrame } from '@slime/protocol';
 * const bytes = encodeFrame({ type: 'CREDIT', streamId: 0, count: 4 });
 * decodeFrame(bytes); // { type: 'CREDIT', streamId: 0, count: 4 }
 * ```
 */
export { type AgentClaims, validateAgentClaims } from './claims.js';
export { decodeFrame, encodeData, encodeDataHead, encodeFrame } from './codec.js';
export {
  AGENT_PATH,
  CloseCode,
  type CloseCodeName,
  type CloseCodeValue,
  CONNECTION_FRAMES,
  DEFAULT_STREAM_WINDOW,
  FRAME_HEADER_BYTES,
  FrameFlags,
  FrameType,
  type FrameTypeCode,
  type FrameTypeName,
  GoawayCode,
  type GoawayCodeValue,
  Limits,
  MIN_PROTOCOL_VERSION,
  MIN_STREAM_WINDOW,
  PROTOCOL_VERSION,
  ResetCode,
  type ResetCodeName,
  type ResetCodeValue,
  UPGRADE_VERSION,
} from './constants.js';
export { DataPump, type PumpSink, type PumpSource } from './data-pump.js';
export { type DurationOptions, parseDuration } from './duration.js';
export { closeCodeFor, closeReason, ProtocolError, type ProtocolErrorCode } from './errors.js';
export {
  assertNewStreamId,
  consumeWindow,
  expandWindow,
  grantCredits,
  nextStreamId,
  sendable,
  spendCredit,
  windowUpdateDue,
} from './flow.js';
export {
  type Corkable,
  FrameWriter,
  type FrameWriterOptions,
  type RawDataPath,
  type RawFrameSocket,
} from './frame-writer.js';
export type {
  CreditFrame,
  DataFrame,
  EndFrame,
  Frame,
  FrameOf,
  GoawayFrame,
  HeaderList,
  HelloFrame,
  RequestFrame,
  ResetFrame,
  ResponseFrame,
  StatusFrame,
  TrailersFrame,
  WelcomeFrame,
  WindowFrame,
} from './frames.js';
export {
  assertHeader,
  headerBytes,
  isHopByHop,
  isToken,
  isWritableFieldValue,
  stripHopByHop,
} from './headers.js';
export { DataTap, type DataTapSink } from './mux/data-tap.js';
export { type HeartbeatTiming, heartbeatDue } from './mux/heartbeat.js';
export {
  createMuxEndpoint,
  MuxEndpoint,
  type MuxEndpointOptions,
  type MuxHandler,
  type MuxState,
  type MuxStream,
} from './mux/mux-endpoint.js';
export { MuxPeer } from './mux/mux-peer.js';
export type { MuxSocket, MuxSocketEvents, MuxTimers } from './mux/mux-socket.js';
export { StreamTable } from './mux/stream-table.js';
export { type WebSocketLike, type WebSocketMuxOptions, webSocketMux } from './mux/ws-adapter.js';
export {
  DEFAULT_CONNECTION_WINDOW_GROWTH,
  DEFAULT_MAX_STREAM_WINDOW,
  DEFAULT_WINDOW_GROW_WITHIN_MS,
  ReceiveWindow,
  type ReceiveWindowOptions,
  WindowBudget,
} from './receive-window.js';
export { trailerFields } from './trailers.js';
export { Tunnel, type TunnelOptions, type TunnelSocket } from './tunnel.js';
export { TunnelReceiver, type TunnelReceiverOptions, type TunnelSink } from './tunnel-receiver.js';
export {
  errorCodes,
  isUpstreamDown,
  type UpstreamFailure,
  type UpstreamFailureKind,
  upstreamFailure,
} from './upstream-failure.js';
export { negotiateVersion, SUPPORTED_VERSIONS, type VersionRange } from './version.js';
export { encodeWholeResponse } from './whole-response.js';
export { withoutStack } from './without-stack.js';
export { type Resumable, WriteBudget } from './write-budget.js';
