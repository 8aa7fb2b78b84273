import type { HeaderList, WindowBudget } from '@slime/protocol';
import type { Logger } from 'pino';
import type { UpstreamTarget } from './options.js';
import type { UpstreamCall } from './upstream-call.js';
import type { UpstreamConnections } from './upstream-connections.js';

/** What a call needs from the session it runs on. */
export interface CallHost {
  send(bytes: Uint8Array): void;
  /** One DATA frame without copying its payload (when the session can). */
  sendData?(streamId: number, chunks: readonly Uint8Array[], length: number): void;
  /**
   * RESPONSE, DATA (unless `length` is 0) and END of a complete response in one write; false when
   * the session cannot (the frames then go one by one). Throws like encodeFrame for a bad head.
   */
  sendWholeResponse?(
    streamId: number,
    status: number,
    headers: HeaderList,
    body: readonly Uint8Array[],
    length: number,
  ): boolean;
  readonly congested: boolean;
  waitForDrain(call: UpstreamCall): void;
  /** The hub's per-stream window for response bodies. */
  readonly hubWindow: number;
  /** Our per-stream window for request bodies. */
  readonly agentWindow: number;
  /** How far request-body windows of this session's calls may grow together (auto-tuning). */
  readonly windowBudget?: WindowBudget | null;
  /** The hub takes interim (1xx) RESPONSE frames (protocol version 2). */
  readonly interimResponses: boolean;
  /** The hub speaks protocol 3: TRAILERS both ways (and upgraded streams). */
  readonly trailers?: boolean;
  /** The call is over and its upstream work has stopped: the worker slot is free. */
  finished(call: UpstreamCall): void;
}

export interface CallDeps {
  connections: UpstreamConnections;
  target: UpstreamTarget;
  preserveHost: boolean;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  log: Logger;
  now?: () => number;
  /**
   * The call found the upstream unreachable (refused, reset before any answer, connect timeout):
   * called with the reason before the call's RESET goes out, so the agent withdraws its slots
   * and tells the hub first.
   */
  onUpstreamDown?: (reason: string) => void;
  /** One call ended: 'ok' or the reset reason, with the status and time to the response head. */
  onResult?: (result: {
    outcome: string;
    status?: number | undefined;
    latencyMs?: number | undefined;
  }) => void;
}
