import { UPGRADE_VERSION } from '@slime/protocol';
import type { AgentGate } from '../dispatch/agent-gate.js';
import { HubError } from '../errors.js';
import type { UpgradeEvents } from '../streams/upgrade-stream.js';
import type { UpgradeObserver } from './upgrade-types.js';

/** What the limits read of a connected agent (an AgentConnection satisfies it). */
export interface UpgradeCapableAgent {
  readonly id: string;
  readonly version: number;
  readonly state: string;
  serves(scope: string | undefined, path: string): boolean;
}

export interface UpgradeLimitsOptions {
  /** Upgraded streams one agent connection may hold at once; 0 turns client upgrades off. */
  maxUpgrades: number;
  /** The native agent connections now. */
  agents: () => Iterable<UpgradeCapableAgent>;
  observer?: UpgradeObserver | undefined;
}

export interface UpgradeLimits {
  /** Upgraded streams (and upgrade requests handed over but not answered yet) per agent id. */
  open(agentId: string): number;
  readonly events: UpgradeEvents;
  gate(shaping: AgentGate | undefined, scope: string | undefined, path: string, block: boolean): AgentGate;
}

/**
 * The rule for long-lived streams: an upgrade request takes a worker slot (a credit) and a
 * --concurrent slot only until its upstream answers; after a 101 it holds neither, and counts
 * instead against its agent's `maxUpgrades`. So 500 open chat sockets never starve ordinary
 * requests, and one agent never holds more sockets than it was sized for. The count starts when
 * the request is handed to the agent (a burst of upgrades cannot overshoot the limit while their
 * answers are on the way) and ends when the stream does.
 */
export function createUpgradeLimits(options: UpgradeLimitsOptions): UpgradeLimits {
  const { maxUpgrades, agents, observer } = options;
  if (!Number.isInteger(maxUpgrades) || maxUpgrades < 0 || maxUpgrades > 1_000_000) {
    throw new RangeError('maxUpgrades must be an integer in 0..1000000');
  }
  const counts = new Map<string, number>();
  const listeners = new Set<() => void>();
  const open = (id: string) => counts.get(id) ?? 0;
  const capable = (a: UpgradeCapableAgent) => a.version >= UPGRADE_VERSION && a.state === 'ready';
  const find = (id: string) => {
    for (const a of agents()) if (a.id === id) return a;
    return undefined;
  };

  const events: UpgradeEvents = {
    opened(agentId) {
      counts.set(agentId, open(agentId) + 1);
    },
    switched() {
      observer?.upgraded('switched');
    },
    bytes(direction, n) {
      observer?.bytes(direction, n);
    },
    ended(agentId, how) {
      const n = open(agentId) - 1;
      if (n > 0) counts.set(agentId, n);
      else counts.delete(agentId);
      if (how === 'not-switched') observer?.upgraded('not-switched');
      else observer?.closed(how);
      for (const l of [...listeners]) l();
    },
  };

  function gate(
    shaping: AgentGate | undefined,
    scope: string | undefined,
    path: string,
    block: boolean,
  ): AgentGate {
    if (maxUpgrades === 0) {
      throw new HubError(
        'ERR_HUB_UPGRADE_UNSUPPORTED',
        'this hub carries no upgraded streams (--max-upgrades 0)',
      );
    }
    let any = false;
    let able = false;
    for (const a of agents()) {
      if (!a.serves(scope, path)) continue;
      any = true;
      if (capable(a)) able = true;
    }
    // With no agent at all a blocking client may wait for one; agents that cannot carry it never will.
    if (!able && (any || !block)) {
      throw new HubError(
        'ERR_HUB_UPGRADE_UNSUPPORTED',
        any
          ? 'no connected agent for this request speaks protocol 3 (upgraded streams); upgrade the agents'
          : 'no agent connected that can carry an upgraded stream',
      );
    }
    let limited = false;
    return {
      admits(agentId) {
        const a = find(agentId);
        if (!a || !capable(a)) return false;
        if (open(agentId) >= maxUpgrades) {
          limited = true;
          return false;
        }
        if (shaping && !shaping.admits(agentId)) return false;
        limited = false;
        return true;
      },
      assigned(agentId) {
        shaping?.assigned(agentId);
      },
      onAvailable(listener) {
        listeners.add(listener);
        const off = shaping?.onAvailable(listener);
        return () => {
          listeners.delete(listener);
          off?.();
        };
      },
      refusal() {
        if (limited) {
          return new HubError(
            'ERR_HUB_UPGRADE_LIMIT',
            `every agent that could take this upgrade holds its ${maxUpgrades} upgraded streams (--max-upgrades); send Slime-Block: 1 to wait`,
            { retryAfter: 1 },
          );
        }
        if (shaping) return shaping.refusal();
        return new HubError(
          'ERR_HUB_NO_AGENT',
          'no agent that carries upgraded streams is free; send Slime-Block: 1 to wait',
          { retryAfter: 1 },
        );
      },
    };
  }

  return { open, events, gate };
}
