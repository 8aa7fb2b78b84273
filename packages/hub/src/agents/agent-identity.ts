import type { AgentClaims } from '@slime/protocol';

/** Who an agent is and what it may serve, from its token: native connections and Go workers alike. */
export interface AgentIdentity {
  readonly id: string;
  readonly claims: AgentClaims;
  /** Slime-Scope values it serves. */
  readonly scopes: ReadonlySet<string>;
  /** The only paths it serves, or null for any. */
  readonly scopePaths: ReadonlySet<string> | null;
}

// Most tokens carry no scopes: their agents share one empty set (nothing ever adds to one).
const NO_SCOPES: ReadonlySet<string> = new Set();

export function scopesOf(claims: AgentClaims): Pick<AgentIdentity, 'scopes' | 'scopePaths'> {
  return {
    scopes: claims.scopes?.length ? new Set(claims.scopes) : NO_SCOPES,
    scopePaths: claims.scopePaths?.length ? new Set(claims.scopePaths) : null,
  };
}

/** Whether `agent` may serve a request for `scope` (Slime-Scope) and `path`. */
export function servesRequest(agent: AgentIdentity, scope: string | undefined, path: string): boolean {
  if (scope !== undefined && !agent.scopes.has(scope)) return false;
  return agent.scopePaths === null || agent.scopePaths.has(path);
}

/** The identity part of a status snapshot. */
export function identitySnapshot(agent: AgentIdentity) {
  return {
    id: agent.id,
    name: agent.claims.sub,
    jti: agent.claims.jti,
    scopes: [...agent.scopes],
    scopePaths: agent.scopePaths ? [...agent.scopePaths] : [],
  };
}
