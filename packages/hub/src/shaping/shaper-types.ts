import type { Logger } from 'pino';
import type { AdmissionGate } from '../dispatch/admission-gate.js';
import type { AgentGate } from '../dispatch/agent-gate.js';
import type { HubError } from '../errors.js';
import type { Timers } from '../pipeline/timers.js';
import type { WaiterOptions } from './concurrency-limiter.js';
import type { SampleOutcome } from './limiter-types.js';
import type { ShapingGroupConfig } from './shaping-config.js';

/** Which group a request belongs to: its scope and, for `per: 'agent'` groups, the chosen agent. */
export interface ShapingKey {
  scope?: string | undefined;
  agent?: string | undefined;
}

/** How a shaped request ended. `outcome` wins over `status` when both are given. */
export interface ShapingResult {
  latencyMs: number;
  status?: number;
  outcome?: SampleOutcome;
}

export interface ShapingPermit {
  /** Records the answer (limiter and pacer) and frees the slot. Idempotent. */
  release(result?: ShapingResult): void;
}

export type Admission =
  /** Go ahead after `delayMs` (pacing; 0 when not paced). Release the permit when done. */
  | { ok: true; permit: ShapingPermit; delayMs: number }
  /** The group is at its limit: 503 with Retry-After, or wait for `onAvailable` (Slime-Block). */
  | { ok: false; error: HubError };

export interface ShapingGroupStats {
  /** `scope` or `*` for the default group, plus `/agent` for per-agent instances. */
  group: string;
  mode: 'aimd' | 'gradient' | 'fixed' | 'none';
  limit: number | undefined;
  learnedLimit: number | undefined;
  inFlight: number;
  paced: boolean;
  spacingMs: number;
  rejections: number;
  signalFactor: number;
  signalErrors: number;
  // The fields below are always set by `stats()`; optional so that stats built elsewhere (a
  // fixture, an older hub's /status) need not name them.
  /** The limit at which errors began, while the limiter holds growth just below it. */
  cliffLimit?: number | undefined;
  /** Ms left of the pause the upstream asked for (Retry-After on a 429/503); 0 when none. */
  heldMs?: number | undefined;
  /** Upstream Retry-After answers that held the group (group-level instance only). */
  retryAfterHolds?: number | undefined;
  /** Requests re-sent after a fast throttle answer (`retryThrottled`; group-level instance only). */
  throttleRetries?: number | undefined;
  /** Latency under which a throttle status counts as fast, ms, once learned (`retryThrottled`). */
  throttleBoundMs?: number | undefined;
}

export interface ShaperDeps {
  now: () => number;
  random: () => number;
  logger?: Logger;
  fetch?: typeof globalThis.fetch;
  /** A group (its stats label) refused a request at its limit; for metrics. */
  onRejected?: (group: string) => void;
  /** Timers for the Prometheus signals and jitter; default the global ones. */
  timers?: Timers;
}

/** One try of a request, as the admission gate shaping gives the dispatcher sees it. */
export interface AdmissionRequest {
  /** `X-Request-Criticality: CRITICAL_PLUS` (may skip pacing). */
  critical: boolean;
  /** Slime-Block: waits for a slot instead of 503. */
  block: boolean;
  /** What is left of the request's Slime-Block budget, ms (undefined: no bound). */
  budgetLeft: () => number | undefined;
  /** Re-queued after a throttle answer: waits at the front; `before` frees its old slot once in line. */
  requeue?: () => void;
  /** The group's slot, taken when the dispatcher gives the request an agent. */
  onPermit: (permit: ShapingPermit) => void;
  /** Ms it waited for pacing or the upstream's hold once it could otherwise go (the pacedMs note). */
  onPaced?: (ms: number) => void;
}

export interface Shaper {
  /** The group config a key falls in, or undefined when it is not shaped. */
  configFor(key: ShapingKey): ShapingGroupConfig | undefined;
  /**
   * Call before dispatching to the group; never blocks. The delay covers pacing and a hold the
   * upstream asked for. `quiet`: a refusal is not counted (a waiter trying again).
   */
  admit(key: ShapingKey, options?: { critical?: boolean; quiet?: boolean }): Admission;
  /**
   * Called synchronously when the key's group may admit again; `front` listeners before the
   * others (a re-queued request goes ahead of the queue). Returns an unsubscribe.
   */
  onAvailable(key: ShapingKey, listener: () => unknown, options?: WaiterOptions): () => void;
  /** Ms left of the group's hold (the upstream's Retry-After); 0 when none. */
  holdLeft(key: ShapingKey): number;
  /**
   * The upstream answered 429/503 with Retry-After `ms`: nothing more is dispatched to the group
   * for that long, capped by `upstreamRetryAfter.maxMs` (ignored when it is false). Returns the
   * hold applied, ms.
   */
  hold(key: ShapingKey, ms: number): number;
  /** The 503 (Retry-After: what is left of the hold) for a request that cannot wait a hold out. */
  holdRefusal(key: ShapingKey): HubError;
  /** Whether an answer this quick is a fast throttle, by the latency the group learned. */
  isFastThrottle(key: ShapingKey, latencyMs: number): boolean;
  /** Counts a request re-sent after a throttle answer (stats). */
  retried(key: ShapingKey): void;
  /**
   * For a `per: 'agent'` group with a limiter: the dispatcher's gate for one request, which admits
   * only agents under their own limit and takes the agent's slot when one is assigned
   * (`onPermit`; a re-dispatch to another agent hands the earlier permit over first). Undefined
   * for other groups.
   */
  agentGate(key: ShapingKey, onPermit: (permit: ShapingPermit, agent: string) => void): AgentGate | undefined;
  /**
   * The dispatcher's admission gate for one try of a request to the key's group: the group's
   * limit, pacing and the upstream's hold, asked before the request gets an agent. Undefined when
   * the key is not shaped.
   */
  admission(key: ShapingKey, request: AdmissionRequest): AdmissionGate | undefined;
  /** Drops the per-agent state of an agent that left. */
  forgetAgent(agent: string): void;
  stats(): ShapingGroupStats[];
  /** Starts the Prometheus signals. */
  start(): void;
  close(): Promise<void>;
}
