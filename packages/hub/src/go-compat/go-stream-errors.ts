import { HubError } from '../errors.js';
import { UpstreamConnectError } from '../streams/reset-errors.js';
import { WireError } from './http-wire.js';

// RFC 9110 §9.2.2: repeating these has the effect of doing them once.
export const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

// The errors a Go stream fails with; `agent` is the Go worker's id.

export const malformedResponse = (agent: string, err: unknown): HubError =>
  new HubError(
    'ERR_HUB_UPSTREAM_ERROR',
    `Go agent ${agent} sent a malformed response: ${err instanceof WireError ? err.message : 'unreadable response'}`,
  );

export const agentLost = (agent: string, why: string): HubError =>
  new HubError('ERR_HUB_AGENT_LOST', `Go agent ${agent} was lost: ${why}`);

export const headTimeout = (agent: string, timeoutMs: number): HubError =>
  new HubError('ERR_HUB_UPSTREAM_TIMEOUT', `no response head from Go agent ${agent} within ${timeoutMs} ms`);

export const streamIdle = (agent: string): HubError =>
  new HubError('ERR_HUB_STREAM_IDLE', `no data from Go agent ${agent} for too long`);

export const workerClosed = (agent: string, reason: string, retryable: boolean): HubError =>
  new HubError('ERR_HUB_AGENT_LOST', `Go agent ${agent} was closed: ${reason}`, { retryable });

/**
 * The worker left the request without a submit. `elsewhere` (the attempt got its body back):
 * dispatch treats it as an unreachable upstream, tried elsewhere, never on this worker again.
 */
export function requestDropped(agent: string, why: string, elsewhere: boolean): HubError {
  const message = `Go agent ${agent} dropped the request: ${why}`;
  return elsewhere ? new UpstreamConnectError(message) : new HubError('ERR_HUB_AGENT_LOST', message);
}
