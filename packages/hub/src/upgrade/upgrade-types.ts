import type { AgentGate } from '../dispatch/agent-gate.js';
import type { UpgradeInit } from '../streams/upgrade-stream.js';

/** A client's upgrade request as the pipeline carries it (`ctx.upgrade`). */
export interface ClientUpgrade extends UpgradeInit {
  /** Stops the hub's watch on the client's socket before the tunnel takes it (kept bytes go back first). */
  release(): void;
  /**
   * The gate dispatch uses for this request: only agents that speak protocol 3 and are below
   * their --max-upgrades, and `shaping`'s gate when there is one. Throws 501
   * ERR_HUB_UPGRADE_UNSUPPORTED when no connected agent for `scope`/`path` could ever take it.
   */
  gate(shaping: AgentGate | undefined, scope: string | undefined, path: string, block: boolean): AgentGate;
}

/** Upgrade metrics and logs (HubInternals.onUpgrade; the hub metrics implement it). */
export interface UpgradeObserver {
  /** An upgrade request reached an agent; `outcome` once known: `switched` (101) or `not-switched`. */
  upgraded(outcome: 'switched' | 'not-switched'): void;
  /** An upgraded stream ended. */
  closed(how: 'normal' | 'client-reset' | 'agent-reset' | 'agent-lost'): void;
  bytes(direction: 'to_upstream' | 'to_client', bytes: number): void;
}
