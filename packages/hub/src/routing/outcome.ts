import { HubError, type HubErrorCode } from '../errors.js';
import type { NamedOutcome } from './fallback-config.js';

/** What became of one try, as far as fallback is concerned. */
export interface TryOutcome {
  /** The status the client would see. */
  status: number;
  /** `no-agent` or `timeout` when the try failed that way. */
  name?: NamedOutcome;
}

// Errors that mean "this endpoint could not serve it"; anything else (bad request, client gone,
// shutdown, bugs) is not the endpoint's fault and never falls back.
const ELIGIBLE: Partial<Record<HubErrorCode, NamedOutcome | null>> = {
  ERR_HUB_NO_AGENT: 'no-agent',
  ERR_HUB_QUEUE_FULL: 'no-agent',
  ERR_HUB_BLOCK_TIMEOUT: 'no-agent',
  ERR_HUB_UPSTREAM_TIMEOUT: 'timeout',
  ERR_HUB_STREAM_IDLE: 'timeout',
  ERR_HUB_OVERLOADED: null,
  ERR_HUB_AGENT_LOST: null,
  ERR_HUB_UPSTREAM_UNREACHABLE: null,
  ERR_HUB_UPSTREAM_ERROR: null,
};

/** The outcome of a failed try, or undefined when the error must not trigger fallback. */
export function outcomeOfError(err: unknown): TryOutcome | undefined {
  if (!(err instanceof HubError) || !(err.code in ELIGIBLE)) return undefined;
  const name = ELIGIBLE[err.code];
  return name ? { status: err.status, name } : { status: err.status };
}

/** A compiled `on` list: an outcome matches by its name or by the status the client would see. */
export function compileOn(on: ReadonlyArray<number | NamedOutcome>): (o: TryOutcome) => boolean {
  const statuses = new Set(on.filter((x): x is number => typeof x === 'number'));
  const names = new Set(on.filter((x): x is NamedOutcome => typeof x === 'string'));
  return (o) => statuses.has(o.status) || (o.name !== undefined && names.has(o.name));
}
