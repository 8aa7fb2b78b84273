import { randomUUID } from 'node:crypto';
import { type AgentClaims, validateAgentClaims } from '@slime/protocol';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

export interface SignAgentTokenOptions {
  secret: string;
  name: string;
  /** Lifetime in seconds; absent = no expiry (as the Go version). */
  ageSeconds?: number;
  scopes?: string[];
  scopePaths?: string[];
  /** Token id; a fresh UUID by default. */
  jti?: string;
  /** Clock, ms since the epoch. */
  now?: () => number;
}

function keyOf(secret: string): Uint8Array {
  if (typeof secret !== 'string' || secret.length === 0)
    throw new TypeError('secret must be a non-empty string');
  return new TextEncoder().encode(secret);
}

/**
 * Mints an agent token: a JWT signed HS256 with the hub secret.
 *
 * @example
 * ```ts
 * const token = await signAgentToken({ secret: 's3cret', name: 'gpu-1', ageSeconds: 3600 });
 * ```
 */
export async function signAgentToken(options: SignAgentTokenOptions): Promise<string> {
  const key = keyOf(options.secret);
  if (typeof options.name !== 'string' || options.name.length === 0)
    throw new TypeError('name must be a non-empty string');
  const iat = Math.floor((options.now ?? Date.now)() / 1000);
  const claims: AgentClaims = { sub: options.name, jti: options.jti ?? randomUUID(), iat };
  if (options.ageSeconds !== undefined) {
    if (!Number.isFinite(options.ageSeconds) || options.ageSeconds <= 0)
      throw new RangeError('ageSeconds must be > 0');
    claims.exp = iat + Math.ceil(options.ageSeconds);
  }
  if (options.scopes?.length) claims.scopes = options.scopes;
  if (options.scopePaths?.length) claims.scopePaths = options.scopePaths;
  validateAgentClaims(claims);
  const { sub, jti, iat: issued, exp, ...rest } = claims;
  const jwt = new SignJWT(rest)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setJti(jti)
    .setIssuedAt(issued);
  if (exp !== undefined) jwt.setExpirationTime(exp);
  return jwt.sign(key);
}

export type TokenRejection =
  | 'missing'
  | 'malformed'
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'bad-claims'
  | 'revoked';

export class TokenError extends Error {
  override readonly name = 'TokenError';
  readonly reason: TokenRejection;

  constructor(reason: TokenRejection, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface TokenVerifier {
  verify(token: string | undefined): Promise<AgentClaims>;
}

/** How far a token's `iat` or `nbf` may lie in the future (the signer's clock ahead of ours). */
export const DEFAULT_CLOCK_SKEW_MS = 60_000;

export interface TokenVerifierOptions {
  secret: string;
  /**
   * Secrets a rollover still accepts: tokens signed with one of them verify too (new tokens are
   * signed with `secret` only). Drop them once every agent has a token from the new secret.
   */
  previousSecrets?: readonly string[];
  isRevoked?: (claims: AgentClaims) => boolean;
  /** Clock, ms since the epoch. */
  now?: () => number;
  /**
   * Tolerated clock difference, ms: a token issued (`iat`) or valid from (`nbf`) further in the
   * future than this is refused as `not-yet-valid`. Expiry (`exp`) stays exact. Default 60 s.
   */
  clockSkewMs?: number;
}

/**
 * The token of an `Authorization: Bearer <token>` field, or undefined. The scheme is
 * case-insensitive (RFC 7235 §2.1: `bearer` and `BEARER` are `Bearer`); one token, no spaces.
 *
 * @example
 * ```ts
 * bearerToken('bearer abc'); // 'abc'
 * bearerToken('Basic abc'); // undefined
 * ```
 */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  return /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1];
}

/**
 * jwtVerify with the current secret, then each previous one while the signature is the only
 * problem (a rollover); any other failure is final.
 */
async function verifyWithAny(
  token: string,
  keys: readonly Uint8Array[],
  t: number,
  skewMs: number,
): Promise<Record<string, unknown>> {
  let last: unknown;
  for (const key of keys) {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        currentDate: new Date(t),
        // jose applies the tolerance to nbf (wanted) and exp (not: re-checked exactly below)
        clockTolerance: skewMs / 1000,
      });
      return payload;
    } catch (err) {
      if (!(err instanceof joseErrors.JWSSignatureVerificationFailed)) throw err;
      last = err;
    }
  }
  throw last;
}

/**
 * Verifies agent tokens: HS256 only (so `alg: none` and key-confusion tricks fail), signature,
 * `exp`, `nbf` and `iat` against the clock, then the claim shape, then the revocation check.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const key = keyOf(options.secret);
  if (options.previousSecrets !== undefined && !Array.isArray(options.previousSecrets))
    throw new TypeError('previousSecrets must be an array of secrets');
  const keys = [key, ...(options.previousSecrets ?? []).map(keyOf)];
  const now = options.now ?? Date.now;
  const skewMs = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  if (typeof skewMs !== 'number') throw new TypeError('clockSkewMs must be a number of ms');
  if (!Number.isFinite(skewMs) || skewMs < 0) throw new RangeError('clockSkewMs must be finite and >= 0');
  return {
    async verify(token) {
      if (!token) throw new TokenError('missing', 'no bearer token');
      const t = now();
      let payload: Record<string, unknown>;
      try {
        payload = await verifyWithAny(token, keys, t, skewMs);
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw new TokenError('expired', 'token expired');
        if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
          throw new TokenError('bad-signature', 'token signature does not match the hub secret');
        }
        if (
          err instanceof joseErrors.JWTClaimValidationFailed &&
          err.claim === 'nbf' &&
          err.reason === 'check_failed'
        ) {
          throw new TokenError('not-yet-valid', 'token not valid yet (nbf is in the future)');
        }
        throw new TokenError('malformed', 'token is not a valid HS256 JWT');
      }
      // jose checked that exp and iat, when present, are numbers
      if (typeof payload.exp === 'number' && payload.exp <= Math.floor(t / 1000)) {
        throw new TokenError('expired', 'token expired');
      }
      // iat is informational in RFC 7519 §4.1.6, but one far ahead of our clock means a broken or
      // hostile signer, not a skewed one
      if (typeof payload.iat === 'number' && payload.iat * 1000 > t + skewMs) {
        throw new TokenError('not-yet-valid', 'token issued in the future (iat is ahead of the hub clock)');
      }
      let claims: AgentClaims;
      try {
        claims = validateAgentClaims(payload);
      } catch {
        throw new TokenError('bad-claims', 'token claims are malformed');
      }
      if (options.isRevoked?.(claims)) throw new TokenError('revoked', 'token revoked');
      return claims;
    },
  };
}
