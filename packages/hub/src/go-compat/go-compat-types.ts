import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AgentClaims } from '@slime/protocol';
import type { Logger } from 'pino';
import type { TokenVerifier } from '../agents/tokens.js';
import type { DispatchAgent } from '../dispatch/dispatcher.js';
import type { GoAgentWorker } from './go-agent.js';

/** The Go agent protocol's paths (POST, with `Slime-Agent-Token` and `Slime-Agent-Id`). */
export const GO_AGENT_PATHS = {
  join: '/v1/agent/join',
  accept: '/v1/agent/accept',
  submit: '/v1/agent/submit',
} as const;

/**
 * Whether a request is a Go agent's call: a POST carrying `Slime-Agent-Token`, on any path, as the
 * Go hub took them. Such a request is never an application request (Slime-* headers are ours).
 */
export function isGoAgentCall(req: IncomingMessage): boolean {
  const token = req.headers['slime-agent-token'];
  return req.method === 'POST' && typeof token === 'string' && token !== '';
}

export interface GoCompatOptions {
  /** `--accept-go-tokens`: serve Go agents. When false, their calls are refused with a clear 404. */
  enabled: boolean;
  /** Verifies the agent token (Go tokens and JWTs alike), with expiry and revocation. */
  verifier: TokenVerifier;
  dispatcher: { capacity(agent: DispatchAgent): void; remove(agent: DispatchAgent): void };
  /** Whether the hub takes new work (false while it drains). */
  accepting: () => boolean;
  now: () => number;
  log: Logger;
  /** A handed-over request with no byte from the agent for this long is failed (504), ms. */
  streamIdleTimeoutMs: number;
  /** A worker that neither polls nor works for this long is forgotten, ms. */
  workerIdleMs: number;
  /** TCP keep-alive on long polls, ms: a vanished agent's poll is noticed without traffic. */
  keepAliveMs: number;
  /**
   * How long a refused poll waits for its answer, ms. The Go agent polls again at once after any
   * answer, so without this an expired token makes it send thousands of requests a second. Default 1000.
   */
  refusalDelayMs?: number;
  /** A call was refused by the token check; `reason` is the TokenRejection (metrics). */
  onRefused?: ((reason: string) => void) | undefined;
  onWorkerAdded?: (worker: GoAgentWorker) => void;
  onWorkerRemoved?: (worker: GoAgentWorker) => void;
}

/** The hub's side of the Go agent protocol: routes, workers and their streams. */
export interface GoCompat {
  /** Serves one Go agent call (see isGoAgentCall). */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** The Go workers known now. */
  workers(): GoAgentWorker[];
  /** Closes the workers whose token claims match (a revoked token); returns how many. */
  closeAgents(match: (claims: AgentClaims) => boolean, reason: string): number;
  /** Idle streams and forgotten workers; the hub calls it on its heartbeat tick. */
  tick(now: number): void;
  /**
   * The hub drains: pending polls are answered 503 so the agents look elsewhere. `onSubmitsDone`
   * runs (at once, or later) when no handed-over request waits for its submit any more: a Go
   * agent submits on a new connection, so the hub keeps listening until then.
   */
  drain(onSubmitsDone: () => void): void;
  /** Everything ends now. */
  close(): void;
}

const AGENT_ID = /^[+-]?\d{1,19}$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** `Slime-Agent-Id` as Go's strconv.Atoi reads it, in canonical decimal; null when it does not parse. */
export function parseAgentId(value: string | string[] | undefined): string | null {
  if (typeof value !== 'string' || !AGENT_ID.test(value)) return null;
  const n = BigInt(value);
  return n < INT64_MIN || n > INT64_MAX ? null : n.toString();
}
