import { HubError } from '../errors.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/**
 * `grpc-timeout` (gRPC over HTTP/2: up to 8 digits and a unit H, M, S, m, u or n) in whole ms,
 * at least 1; undefined when absent. A malformed value is the client's error (400, which a gRPC
 * client reads as INVALID_ARGUMENT).
 */
export function grpcTimeoutMs(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = Array.isArray(value) ? value[0] : value;
  const m = v === undefined ? null : /^(\d{1,8})([HMSmun])$/.exec(v);
  if (!m)
    throw new HubError(
      'ERR_HUB_BAD_REQUEST',
      'grpc-timeout must be 1 to 8 digits and a unit (H, M, S, m, u, n)',
    );
  return Math.max(1, Math.ceil(Number(m[1]) * UNIT_MS[m[2]!]!));
}
