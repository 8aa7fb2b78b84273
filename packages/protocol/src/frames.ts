import type { ResetCodeValue } from './constants.js';

/** Header fields in wire order; names are lower-case, repeated names allowed (set-cookie). */
export type HeaderList = Array<[name: string, value: string]>;

/** Agent -> hub, first frame on a connection. */
export interface HelloFrame {
  type: 'HELLO';
  streamId: 0;
  minVersion: number;
  maxVersion: number;
  /** Worker slots the agent has (the most requests it ever serves at once). */
  slots: number;
  /** Body bytes the agent accepts per stream before it sends WINDOW. */
  streamWindow: number;
  name: string;
  agentId: string;
  /** A label for the upstream (host:port), for operators. */
  upstream: string;
  /** Software name and version, e.g. `slime-ts/0.1.0`. */
  software: string;
  /** Hardware description as JSON text, or empty. */
  hardware: string;
}

/** Hub -> agent, the answer to HELLO. */
export interface WelcomeFrame {
  type: 'WELCOME';
  streamId: 0;
  version: number;
  /** Body bytes the hub accepts per stream before it sends WINDOW. */
  streamWindow: number;
  /** Heartbeat interval the hub uses, so the agent can size its own timeout. */
  heartbeatMs: number;
  /** The id the hub knows this connection by (echoed in Slime-Agent-Id). */
  agentId: string;
}

/** Agent -> hub: the agent can take `count` more requests. */
export interface CreditFrame {
  type: 'CREDIT';
  streamId: 0;
  count: number;
}

/** Hub -> agent: a new stream carrying one application request. */
export interface RequestFrame {
  type: 'REQUEST';
  streamId: number;
  /** True when no body follows (no DATA, no END). */
  endStream: boolean;
  /**
   * Version 3: the client asked to switch protocols; `headers` carries its `upgrade` field. Absent
   * (never `false`) on an ordinary request, so frames built before version 3 stay valid.
   */
  upgrade?: true;
  method: string;
  /** Path and query, as the client sent it. */
  target: string;
  headers: HeaderList;
}

/** Agent -> hub: the upstream's response head. */
export interface ResponseFrame {
  type: 'RESPONSE';
  streamId: number;
  endStream: boolean;
  status: number;
  headers: HeaderList;
}

/** Body bytes, either direction. */
export interface DataFrame {
  type: 'DATA';
  streamId: number;
  data: Uint8Array;
}

/** End of the sender's body, either direction. */
export interface EndFrame {
  type: 'END';
  streamId: number;
}

/** The receiver grants `increment` more body bytes on the stream. */
export interface WindowFrame {
  type: 'WINDOW';
  streamId: number;
  increment: number;
}

/** Abort the stream, either direction. */
export interface ResetFrame {
  type: 'RESET';
  streamId: number;
  code: ResetCodeValue;
  message: string;
}

/** Either direction: no new streams; finish the open ones. */
export interface GoawayFrame {
  type: 'GOAWAY';
  streamId: 0;
  code: number;
  message: string;
}

/**
 * Agent -> hub, version 2 and later: whether the agent's upstream answers. While it does not, the
 * agent grants no credit and refuses (RESET REFUSED) what reaches it; the hub should stop
 * dispatching to it until a STATUS with `upstreamHealthy: true` (which a CREDIT follows).
 */
export interface StatusFrame {
  type: 'STATUS';
  streamId: 0;
  upstreamHealthy: boolean;
  /** Why, for operators (e.g. `upstream refused the connection`); may be empty. */
  reason: string;
}

/**
 * Either direction, version 3 and later: trailer fields that end the sender's body (in place of
 * END). Generic: HTTP/1.1 chunked trailers, and gRPC's grpc-status/grpc-message.
 */
export interface TrailersFrame {
  type: 'TRAILERS';
  streamId: number;
  headers: HeaderList;
}

export type Frame =
  | HelloFrame
  | WelcomeFrame
  | CreditFrame
  | RequestFrame
  | ResponseFrame
  | DataFrame
  | EndFrame
  | WindowFrame
  | ResetFrame
  | GoawayFrame
  | StatusFrame
  | TrailersFrame;

export type FrameOf<T extends Frame['type']> = Extract<Frame, { type: T }>;
