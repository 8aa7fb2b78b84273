import { ResetCode, type ResetCodeValue } from '@slime/protocol';
import { expectedError, HubError } from '../errors.js';

/**
 * An agent handed a request back (RESET REFUSED: no free slot, or draining) before any of it
 * reached its upstream. Not a failed attempt: dispatch it again. The stream already gave the
 * attempt's body what was read (a replay: those bytes first, then the rest).
 */
export class StreamRefusedError extends HubError {
  constructor(message: string) {
    super('ERR_HUB_AGENT_LOST', message, { retryable: true });
  }
}

/**
 * The agent could not connect to its upstream (RESET UPSTREAM_CONNECT) before it took any of the
 * request: the upstream saw nothing, so even a POST may run elsewhere (the attempt's body was
 * given back, as for a refusal).
 */
export class UpstreamConnectError extends HubError {
  constructor(message: string) {
    super('ERR_HUB_UPSTREAM_UNREACHABLE', message, { retryable: true });
  }
}

/** What an agent's RESET (before the response head) means for the application client. */
export function errorForReset(code: ResetCodeValue, message: string, agentId: string): HubError {
  const detail = message ? `${message} (agent ${agentId})` : `agent ${agentId} reset the stream`;
  switch (code) {
    case ResetCode.REFUSED:
      return new HubError('ERR_HUB_AGENT_LOST', `agent refused the request: ${detail}`, { retryable: true });
    case ResetCode.UPSTREAM_CONNECT:
      return new HubError('ERR_HUB_UPSTREAM_UNREACHABLE', `upstream unreachable: ${detail}`);
    case ResetCode.UPSTREAM_TIMEOUT:
      return new HubError('ERR_HUB_UPSTREAM_TIMEOUT', `upstream timed out: ${detail}`);
    case ResetCode.IDLE_TIMEOUT:
      return new HubError('ERR_HUB_STREAM_IDLE', `stream idle: ${detail}`);
    default:
      return new HubError('ERR_HUB_UPSTREAM_ERROR', `upstream failed: ${detail}`);
  }
}

/** A refusal or connect failure before the agent took any of the request: dispatch it again. */
export function earlyRefusal(code: ResetCodeValue, message: string, agentId: string): HubError {
  return code === ResetCode.REFUSED
    ? new StreamRefusedError(`agent ${agentId} refused the request: ${message}`)
    : new UpstreamConnectError(`agent ${agentId} could not reach its upstream: ${message}`);
}

/**
 * Why the hub cancelled a stream (unless the caller has its own error): an idle stream, or a client
 * that left. The latter is a designed outcome, so its error carries no stack (building and
 * formatting one, which Node forces when the body stream is destroyed with it, was most of a
 * cancelled stream's cost).
 */
export function cancelError(code: ResetCodeValue, reason: string, agentId: string): HubError {
  return code === ResetCode.IDLE_TIMEOUT
    ? new HubError('ERR_HUB_STREAM_IDLE', `no data from agent ${agentId} for too long`)
    : expectedError('ERR_HUB_CLIENT_GONE', reason);
}
