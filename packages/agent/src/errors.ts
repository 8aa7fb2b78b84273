/** Stable error codes of the agent. */
export type AgentErrorCode =
  | 'ERR_AGENT_UNAUTHORIZED'
  | 'ERR_AGENT_NOT_A_HUB'
  | 'ERR_AGENT_REFUSED'
  | 'ERR_AGENT_CLOSED'
  | 'ERR_AGENT_PROTOCOL'
  | 'ERR_AGENT_INVALID_OPTION';

export interface AgentErrorDetails {
  cause?: unknown;
  /** The HTTP status the hub (or whatever answered) gave the upgrade. */
  status?: number;
  /**
   * Why the hub refused the token (ERR_AGENT_UNAUTHORIZED), as its 401 says in `reason`:
   * `expired`, `bad-signature`, `malformed`, `revoked`, `missing`, `not-yet-valid`, `bad-claims`;
   * undefined when the hub did not say (older hubs).
   */
  reason?: string;
}

export class AgentError extends Error {
  override readonly name = 'AgentError';
  readonly code: AgentErrorCode;
  readonly status: number | undefined;
  readonly reason: string | undefined;

  constructor(code: AgentErrorCode, message: string, options?: AgentErrorDetails) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options?.status;
    this.reason = options?.reason;
  }
}
