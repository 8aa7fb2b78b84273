import type { HubError } from '../errors.js';

/** What an admission gate answers for a request that asks to go now. */
export type AdmissionCheck =
  /** It may go: the dispatcher gives it an agent if one is free, and calls `admitted`. */
  | 'admit'
  /**
   * Not now: it waits in the queue, woken by `onAvailable` or, with `retryAt`, at that time (the
   * dispatcher's clock). A gate answers this only for a request that may wait.
   */
  | { readonly retryAt: number | undefined }
  /** Never: the request fails with this error (it would not wait, or cannot wait long enough). */
  | HubError;

/** Calls `listener` whenever capacity may have freed; returns an unsubscribe. */
export interface WakeSource {
  onAvailable(listener: () => void): () => void;
}

/** A source that never wakes anybody (a gate whose refusals all end at a known time). */
export const NO_WAKE: WakeSource = Object.freeze({ onAvailable: () => () => {} });

/** The answer of a gate that refuses until capacity frees (no time to retry at). */
export const WAIT_FOR_CAPACITY: AdmissionCheck = Object.freeze({ retryAt: undefined });

/**
 * A request's admission to its upstream, consulted by the dispatcher before the request gets an
 * agent (shaping's concurrency limit, pacing and the upstream's Retry-After hold). The dispatcher's
 * queue is the only place a request waits: a gate never waits itself, it answers and wakes.
 * Per-agent limits are an `AgentGate` (asked for each agent); this one is asked once per offer.
 */
export interface AdmissionGate {
  /** Whether the request may go now. Asking has no effect beyond counting a first refusal. */
  check(): AdmissionCheck;
  /** The request was given an agent (synchronously, before its stream opens): take the permit. */
  admitted(agentId: string): void;
  /**
   * What wakes the queue when a refusal may have ended (a slot freed). Shared by the gates of one
   * shaping group: the dispatcher listens once per source, however many of its requests wait.
   */
  readonly source: WakeSource;
  /** A request going back in line (a throttle answer): it waits at the front of the queue. */
  readonly front?: boolean;
  /**
   * Runs once, when the request is in line (or about to go with nobody waiting): a re-queued
   * request frees the slot it held only then, so that slot comes back to it first.
   */
  prepare?(): void;
  /** Words for the deadline error of a request that waited on this gate (e.g. "no shaping slot"). */
  readonly waitingFor?: string;
}
