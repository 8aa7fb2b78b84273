import { createDecipheriv } from 'node:crypto';
import type { AgentClaims } from '@slime/protocol';
import { TokenError, type TokenVerifier } from '../agents/tokens.js';
import { decodeBase32, ProtoError, readProtoFields, WireType } from './wire-reader.js';

/**
 * A Go Slime Proxy agent token, decrypted. The Go version mints `AgentToken { int64 id = 1;
 * string name = 2; int64 expire_at = 3; repeated string scope_paths = 4; repeated string scopes = 5; }`
 * (proto3), encrypts it with AES-256-GCM and prints it as unpadded base32.
 */
export interface GoToken {
  /** The int64 id, in decimal (64-bit: kept as a string, never a Number). */
  id: string;
  name: string;
  /** Unix seconds; 0 = never expires. */
  expireAt: number;
  scopePaths: string[];
  scopes: string[];
}

/** Prefix of a Go token's id as our `jti` claim, so `hub revoke --jti go:<id>` names it. */
export const GO_JTI_PREFIX = 'go:';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
// Unpadded base32 of nonce + tag alone; a real token also carries its plaintext.
const MIN_TOKEN_CHARS = Math.ceil(((NONCE_BYTES + TAG_BYTES) * 8) / 5);
// Far beyond any token `hub register` prints (a few hundred characters with many scopes).
const MAX_TOKEN_CHARS = 16 * 1024;
const BASE32 = /^[A-Z2-7]+$/;

/**
 * The Go version's key: the secret's UTF-8 bytes right-padded with zero bytes to 32, or cut to 32
 * (no key derivation). Two secrets that share their first 32 bytes are one key, as they were there.
 */
export function goTokenKey(secret: string): Buffer {
  const key = Buffer.alloc(KEY_BYTES);
  Buffer.from(secret, 'utf8').copy(key, 0, 0, KEY_BYTES);
  return key;
}

/** Whether `token` has the shape of a Go token (unpadded uppercase base32) rather than a JWT. */
export function looksLikeGoToken(token: string): boolean {
  return token.length >= MIN_TOKEN_CHARS && token.length <= MAX_TOKEN_CHARS && BASE32.test(token);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    // proto3 strings must be UTF-8; Go's proto.Unmarshal refuses the message otherwise
    throw new ProtoError('string field is not valid UTF-8');
  }
}

/** Decodes the protobuf plaintext of a Go token (last value wins for scalars, as in protobuf). */
export function decodeGoTokenPayload(plaintext: Uint8Array): GoToken {
  const token: GoToken = { id: '0', name: '', expireAt: 0, scopePaths: [], scopes: [] };
  for (const f of readProtoFields(plaintext)) {
    // A field with an unexpected wire type is an unknown field to protobuf: skipped.
    if (f.wireType === WireType.VARINT && f.varint !== undefined) {
      if (f.field === 1) token.id = BigInt.asIntN(64, f.varint).toString();
      else if (f.field === 3) token.expireAt = Number(BigInt.asIntN(64, f.varint));
    } else if (f.wireType === WireType.LEN && f.bytes !== undefined) {
      if (f.field === 2) token.name = text(f.bytes);
      else if (f.field === 4) token.scopePaths.push(text(f.bytes));
      else if (f.field === 5) token.scopes.push(text(f.bytes));
    }
  }
  return token;
}

/**
 * Decrypts and decodes a Go token with the hub secret. Throws TokenError: `malformed` when it is
 * not base32 of at least a nonce and a tag (or the plaintext is not the token message),
 * `bad-signature` when the GCM tag does not match (another secret, or a token altered).
 *
 * @example
 * ```ts
 * const t = decodeGoToken(process.env.TOKEN!, process.env.SECRET!);
 * t.name; // 'gpu-1'
 * ```
 */
export function decodeGoToken(token: string, secret: string): GoToken {
  if (!looksLikeGoToken(token)) throw new TokenError('malformed', 'not a Go Slime Proxy token');
  const raw = decodeBase32(token);
  if (!raw || raw.length < NONCE_BYTES + TAG_BYTES) {
    throw new TokenError('malformed', 'not a Go Slime Proxy token');
  }
  const nonce = raw.subarray(0, NONCE_BYTES);
  const tag = raw.subarray(raw.length - TAG_BYTES);
  const sealed = raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES);
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', goTokenKey(secret), nonce, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(sealed), decipher.final()]);
  } catch {
    throw new TokenError('bad-signature', 'Go token does not decrypt with the hub secret');
  }
  try {
    return decodeGoTokenPayload(plaintext);
  } catch (err) {
    throw new TokenError('malformed', `Go token payload is malformed: ${(err as Error).message}`);
  }
}

/**
 * Our claims for a Go token: `sub` = its name, `jti` = `go:<id>`, its scopes and scope paths as
 * they are (the Go hub matched them exactly, so they are not re-validated here), `exp` when it
 * expires. Go tokens carry no issue time: `iat` is 0.
 */
export function goTokenClaims(token: GoToken): AgentClaims {
  const claims: AgentClaims = {
    // The Go version always named its tokens (a random pet name without --name).
    sub: token.name === '' ? `go-${token.id}` : token.name,
    jti: `${GO_JTI_PREFIX}${token.id}`,
    iat: 0,
  };
  if (token.expireAt > 0) claims.exp = token.expireAt;
  if (token.scopes.length > 0) claims.scopes = token.scopes;
  if (token.scopePaths.length > 0) claims.scopePaths = token.scopePaths;
  return claims;
}

/** Whether claims came from a Go token. */
export function isGoClaims(claims: { jti: string }): boolean {
  return claims.jti.startsWith(GO_JTI_PREFIX);
}

export interface GoTokenVerifierOptions {
  secret: string;
  isRevoked?: ((claims: AgentClaims) => boolean) | undefined;
  /** Clock, ms since the epoch. */
  now?: () => number;
  /** Decoded tokens kept, so an agent's every call costs no decryption. Default 1024. */
  cacheSize?: number;
}

/**
 * Verifies Go tokens as the Go hub did, on every call: decryption with the secret and expiry
 * (expired once the clock is past `expire_at`), then, beyond it, revocation by name or `go:<id>`.
 */
export function createGoTokenVerifier(options: GoTokenVerifierOptions): TokenVerifier {
  const { secret, isRevoked } = options;
  const now = options.now ?? Date.now;
  const cacheSize = options.cacheSize ?? 1024;
  if (!Number.isInteger(cacheSize) || cacheSize < 0)
    throw new RangeError('cacheSize must be an integer >= 0');
  // Tokens are few (one per agent) and immutable: a small LRU of decoded claims.
  const cache = new Map<string, AgentClaims>();
  const claimsOf = (token: string): AgentClaims => {
    const hit = cache.get(token);
    if (hit) {
      cache.delete(token);
      cache.set(token, hit);
      return hit;
    }
    const claims = goTokenClaims(decodeGoToken(token, secret));
    if (cacheSize > 0) {
      if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
      cache.set(token, claims);
    }
    return claims;
  };
  return {
    async verify(token) {
      if (!token) throw new TokenError('missing', 'no agent token');
      const claims = claimsOf(token);
      // Go: `time.Now().After(time.Unix(expire_at, 0))`
      if (claims.exp !== undefined && now() > claims.exp * 1000)
        throw new TokenError('expired', 'token expired');
      if (isRevoked?.(claims)) throw new TokenError('revoked', 'token revoked');
      return claims;
    },
  };
}

/**
 * One verifier for both formats: a token shaped like a Go token goes to `go`, anything else (a
 * JWT) to `jwt`. A JWT always holds dots, which base32 never does, so the shapes never overlap.
 */
export function withGoTokens(jwt: TokenVerifier, go: TokenVerifier): TokenVerifier {
  return {
    verify: (token) =>
      token !== undefined && looksLikeGoToken(token) ? go.verify(token) : jwt.verify(token),
  };
}
