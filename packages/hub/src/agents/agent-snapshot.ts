import type { HelloFrame } from '@slime/protocol';
import type { AgentConnection } from './agent-connection.js';
import { AgentHealth } from './agent-health.js';
import { helloSnapshot } from './agent-hello.js';
import { identitySnapshot } from './agent-identity.js';
import type { AgentSnapshot } from './connection-types.js';

/** A connection's summary for /status and logs; `health` null: the agent reported nothing yet. */
export function connectionSnapshot(
  conn: AgentConnection,
  hello: HelloFrame | null,
  health: AgentHealth | null,
): AgentSnapshot {
  return {
    ...identitySnapshot(conn),
    ...helloSnapshot(hello),
    credits: conn.credits,
    inFlight: conn.inFlight,
    upgradedStreams: conn.upgradedStreams,
    state: conn.state,
    remoteAddress: conn.remoteAddress,
    since: conn.since,
    ...(health?.snapshot() ?? AgentHealth.snapshotOf(AgentHealth.FRESH)),
  };
}
