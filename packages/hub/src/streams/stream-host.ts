import type { IncomingMessage } from 'node:http';
import type { HeaderList, WindowBudget } from '@slime/protocol';
import type { AttemptBody } from '../pipeline/context.js';
import type { AgentStream } from './agent-stream.js';
import type { HubStream } from './hub-stream.js';

/**
 * How a stream ended for the connection's credit count: `returned` when the agent's END/RESET gave
 * the credit back, `refused` when the agent refused it (the credit stays spent), `lost` when the
 * connection died, `detached` when an upgraded stream ended (its credit came back with the 101).
 */
export type CloseOutcome = 'returned' | 'refused' | 'lost' | 'detached';

/** What a stream needs from the connection it runs on. */
export interface StreamHost {
  readonly id: string;
  /** The agent's per-stream receive window (request bodies). */
  readonly agentWindow: number;
  /** Our per-stream receive window (response bodies). */
  readonly hubWindow: number;
  /** How far response windows of this connection's streams may grow together (auto-tuning). */
  readonly windowBudget?: WindowBudget | null;
  send(bytes: Uint8Array): void;
  /** One DATA frame without copying its payload (when the connection can). */
  sendData?(streamId: number, chunks: readonly Uint8Array[], length: number): void;
  /** True while the WebSocket has more unflushed bytes than its high-water mark. */
  readonly congested: boolean;
  /** Calls `stream.resume()` once the WebSocket has flushed below its low-water mark. */
  waitForDrain(stream: AgentStream): void;
  /** The stream is over (see CloseOutcome). */
  streamClosed(stream: AgentStream, outcome: CloseOutcome): void;
  /** The protocol version agreed with the agent (TRAILERS from 3 on). */
  readonly version: number;
  /** The agent broke its response's framing on `stream` (already reset and failed). */
  framingViolation(stream: HubStream, problem: string): void;
  now(): number;
  /** `now` as a function of its own, shared by the connection's streams (else each makes one). */
  readonly clock?: () => number;
}

export interface StreamInit {
  /** The request method (HEAD responses have no body, whatever their fields say). */
  method?: string;
  /**
   * The request body, owned by the attempt: the stream reads `body.stream`, reports what the agent
   * took (`read`), and hands back what a refusing agent left (`handBack`). Null: no body.
   */
  body: AttemptBody | null;
  /** An interim response (102, 103) arrived before the final head. */
  onInterim?: (status: number, headers: HeaderList) => void;
  /** The client's request: its trailers follow the body on a version-3 connection. */
  req?: IncomingMessage;
}
