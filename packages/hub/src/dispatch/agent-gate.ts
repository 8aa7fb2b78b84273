import type { HubError } from '../errors.js';

/**
 * A per-agent admission check the dispatcher consults while it picks an agent (per-agent
 * shaping): an agent the gate does not admit is passed over as if it had no free slot.
 */
export interface AgentGate {
  /** Whether this agent may take the request now. */
  admits(agentId: string): boolean;
  /** The dispatcher gave the request to this agent (synchronously, before the stream opens). */
  assigned(agentId: string): void;
  /** Calls `listener` whenever some agent may admit again; returns an unsubscribe. */
  onAvailable(listener: () => void): () => void;
  /** The error for a request that will not wait when agents exist but the gate admits none. */
  refusal(): HubError;
}
