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

export type TokenRejection = 'missing' | 'malformed' | 'bad-signature' | 'expired' | 'bad-claims' | 'revoked';

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

/**
 * Verifies agent tokens: HS256 only (so `alg: none` and key-confusion tricks fail), signature,
 * `exp`, then the claim shape, then the revocation check.
 */
export function createTokenVerifier(options: {
  secret: string;
  isRevoked?: (claims: AgentClaims) => boolean;
  now?: () => number;
}): TokenVerifier {
  const key = keyOf(options.secret);
  const now = options.now ?? Date.now;
  return {
    async verify(token) {
      if (!token) throw new TokenError('missing', 'no bearer token');
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          currentDate: new Date(now()),
        }));
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw new TokenError('expired', 'token expired');
        if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
          throw new TokenError('bad-signature', 'token signature does not match the hub secret');
        }
        throw new TokenError('malformed', 'token is not a valid HS256 JWT');
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
