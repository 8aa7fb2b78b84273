import { isUpstreamDown, ResetCode, type ResetCodeValue, upstreamFailure } from '@slime/protocol';
import { UnsendableRequestError } from './upstream-request.js';

/** Maps undici/socket failures to RESET codes the hub turns into 502/504 (one table: protocol's). */
export function resetCodeFor(err: unknown): ResetCodeValue {
  const { kind } = upstreamFailure(err);
  return kind === 'connect'
    ? ResetCode.UPSTREAM_CONNECT
    : kind === 'timeout'
      ? ResetCode.UPSTREAM_TIMEOUT
      : ResetCode.UPSTREAM_ERROR;
}

/**
 * Whether a failed call says the upstream is down rather than that one request went wrong: the
 * connection was refused, could not be made (DNS, unreachable, connect timeout), or was reset.
 * The caller counts a reset only when no response head had arrived: a reset mid-body is one
 * broken response, not a dead upstream.
 */
export const isConnectFailure: (err: unknown) => boolean = isUpstreamDown;

/**
 * The reason an upstream call failed, in words of our own: this text reaches the application's
 * client in a problem+json body, so it never carries library internals (assertion text, stack
 * frames) or the upstream's internal address. The full error goes to the agent's log.
 */
export function describeUpstreamError(err: unknown): string {
  if (err instanceof UnsendableRequestError) return `request cannot be sent upstream: ${err.message}`;
  return upstreamFailure(err).phrase;
}

const RESET_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(ResetCode).map(([name, code]) => [code, name.toLowerCase()]),
);

/** A call's outcome (metrics, traces) for the RESET code it ended with: the code's name. */
export function resetOutcome(code: ResetCodeValue): string {
  return RESET_NAMES.get(code) ?? 'error';
}
