import { Counter, type Registry } from 'prom-client';
import type { PolicySyncEvent } from './policy-sync.js';
import type { FailMode, StoreFailure } from './redis-store.js';

export interface ClusterMetrics {
  /** For the Redis store's `onFailure`. */
  storeFailure(op: 'check' | 'charge', failure: StoreFailure, mode: FailMode): void;
  /** For the policy sync's `onEvent`. */
  policySync(event: PolicySyncEvent): void;
  /** For `disconnectRevoked`. */
  revokedDisconnected(count: number): void;
}

/**
 * The several-hubs counters, registered in the hub's own registry (`createHubMetrics(...).registry`)
 * so they appear on the same /metrics page.
 */
export function createClusterMetrics(registry: Registry): ClusterMetrics {
  if (!registry || typeof registry.registerMetric !== 'function')
    throw new TypeError('registry must be a prom-client Registry');
  const registers = [registry];
  const failures = new Counter({
    name: 'slime_ratelimit_store_failures_total',
    help: 'Rate-limit store calls Redis did not answer in time (timeout) or failed (error), by op and fail mode',
    labelNames: ['op', 'failure', 'mode'] as const,
    registers,
  });
  const sync = new Counter({
    name: 'slime_policy_sync_total',
    help: 'Policy sync through Redis: published (local update written), applied (from another hub), rejected, error',
    labelNames: ['event'] as const,
    registers,
  });
  const revoked = new Counter({
    name: 'slime_agents_revoked_disconnected_total',
    help: 'Connected agents closed (4005) because their token was revoked',
    registers,
  });
  return {
    storeFailure: (op, failure, mode) => failures.inc({ op, failure, mode }),
    policySync: (event) => sync.inc({ event }),
    revokedDisconnected: (count) => revoked.inc(count),
  };
}
