import { ProtocolError } from './errors.js';

/** Claims of an agent token (a JWT signed HS256 with the hub secret). */
export interface AgentClaims {
  /** Agent name. */
  sub: string;
  /** Token id, for revocation. */
  jti: string;
  /** Issued at, seconds since the epoch. */
  iat: number;
  /** Expiry, seconds since the epoch; absent = no expiry. */
  exp?: number;
  /** Scopes the agent serves (Slime-Scope). */
  scopes?: string[];
  /** Exact paths the agent serves; absent = any path. */
  scopePaths?: string[];
}

const MAX_LIST = 256;
const MAX_ITEM = 1024;

function bad(message: string): never {
  throw new ProtocolError('ERR_PROTOCOL_BAD_CLAIMS', message);
}

function nonEmptyString(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_ITEM)
    bad(`${what} must be a non-empty string`);
  return v;
}

function seconds(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    bad(`${what} must be whole seconds since the epoch`);
  return v;
}

function stringList(v: unknown, what: string, item: (s: string) => boolean, rule: string): string[] {
  if (!Array.isArray(v) || v.length > MAX_LIST)
    bad(`${what} must be an array of at most ${MAX_LIST} strings`);
  return v.map((s, i) => {
    const text = nonEmptyString(s, `${what}[${i}]`);
    if (!item(text)) bad(`${what}[${i}] ${rule}`);
    return text;
  });
}

/**
 * Validates a decoded token payload and returns the agent claims. Signature and expiry checks
 * belong to the verifier (jose, in the hub); this checks shape and sense.
 */
export function validateAgentClaims(payload: unknown): AgentClaims {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    bad('claims must be an object');
  const p = payload as Record<string, unknown>;
  const claims: AgentClaims = {
    sub: nonEmptyString(p.sub, 'sub'),
    jti: nonEmptyString(p.jti, 'jti'),
    iat: seconds(p.iat, 'iat'),
  };
  if (p.exp !== undefined) {
    claims.exp = seconds(p.exp, 'exp');
    if (claims.exp < claims.iat) bad('exp is before iat');
  }
  if (p.scopes !== undefined) {
    claims.scopes = stringList(
      p.scopes,
      'scopes',
      (s) => !/[\s,]/.test(s),
      'must not contain spaces or commas',
    );
  }
  if (p.scopePaths !== undefined) {
    claims.scopePaths = stringList(
      p.scopePaths,
      'scopePaths',
      (s) => s.startsWith('/'),
      'must start with "/"',
    );
  }
  return claims;
}
