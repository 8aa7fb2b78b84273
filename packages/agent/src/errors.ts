/** Stable error codes of the agent. */
export type AgentErrorCode =
  | 'ERR_AGENT_UNAUTHORIZED'
  | 'ERR_AGENT_REFUSED'
  | 'ERR_AGENT_CLOSED'
  | 'ERR_AGENT_PROTOCOL'
  | 'ERR_AGENT_INVALID_OPTION';

export class AgentError extends Error {
  override readonly name = 'AgentError';
  readonly code: AgentErrorCode;

  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
