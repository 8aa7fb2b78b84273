import type { GoStream } from './go-stream.js';

/** What a stream needs from the Go worker it was handed to. */
export interface GoStreamHost {
  readonly id: string;
  now(): number;
  /** The stream stopped counting against the worker (answered, failed or cancelled). */
  streamSettled(stream: GoStream): void;
  /** The exchange around the stream is over: no submit can come for it any more. */
  streamClosed(stream: GoStream): void;
}

export type State =
  /** The request went out in the long-poll answer; no submit yet. */
  | 'handed'
  /** The submit is streaming the response in. */
  | 'submitting'
  /** The whole response arrived. */
  | 'done'
  /** Failed, cancelled or abandoned. */
  | 'failed';
