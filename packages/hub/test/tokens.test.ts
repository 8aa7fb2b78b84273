import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { bearerToken, createTokenVerifier, signAgentToken, TokenError } from '../src/agents/tokens.js';

const SECRET = 'tokens-test-secret';
// A fixed hub clock, whole seconds, so iat/nbf/exp arithmetic is exact.
const T = 1_800_000_000_000;
const S = T / 1000;

/** The reason a verify() failed, or 'ok'. */
async function outcome(verify: Promise<unknown>): Promise<string> {
  try {
    await verify;
    return 'ok';
  } catch (err) {
    if (err instanceof TokenError) return err.reason;
    throw err;
  }
}

/** A token signed at `issuedMs` (the signer's clock), optionally with a lifetime. */
const signedAt = (issuedMs: number, ageSeconds?: number) =>
  signAgentToken({
    secret: SECRET,
    name: 'gpu-1',
    now: () => issuedMs,
    ...(ageSeconds === undefined ? {} : { ageSeconds }),
  });

/** A token with hand-set claims (nbf, odd types), signed HS256 with the hub secret. */
const rawToken = (claims: Record<string, unknown>) =>
  new SignJWT({ sub: 'gpu-1', jti: 'j-1', iat: S, ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(SECRET));

describe('bearerToken', () => {
  it.each([
    ['Bearer abc.def', 'abc.def'],
    ['bearer abc.def', 'abc.def'],
    ['BEARER abc.def', 'abc.def'],
    ['bEaReR abc.def', 'abc.def'],
    ['Bearer\tabc', 'abc'],
    ['Bearer   abc  ', 'abc'],
  ])('%j -> %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([
    undefined,
    '',
    'Bearer',
    'Bearer ',
    'Bearerabc',
    'Basic YTpi',
    'Bearer a b',
    'Token abc',
    ['Bearer abc'],
  ])('%j -> undefined', (header) => {
    expect(bearerToken(header)).toBeUndefined();
  });
});

describe('createTokenVerifier: the clock', () => {
  const verifier = createTokenVerifier({ secret: SECRET, now: () => T });

  it('accepts a token issued now, or up to the 60 s default skew ahead of the hub clock', async () => {
    expect(await outcome(verifier.verify(await signedAt(T)))).toBe('ok');
    expect(await outcome(verifier.verify(await signedAt(T + 30_000)))).toBe('ok');
    expect(await outcome(verifier.verify(await signedAt(T + 60_000)))).toBe('ok');
  });

  it('refuses a token issued further in the future as not-yet-valid', async () => {
    expect(await outcome(verifier.verify(await signedAt(T + 61_000)))).toBe('not-yet-valid');
    const err = await verifier.verify(await signedAt(T + 600_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenError);
    expect((err as TokenError).reason).toBe('not-yet-valid');
    expect((err as TokenError).message).toMatch(/future/);
  });

  it('clockSkewMs sets the tolerance; 0 allows no future iat at all', async () => {
    const strict = createTokenVerifier({ secret: SECRET, now: () => T, clockSkewMs: 0 });
    expect(await outcome(strict.verify(await signedAt(T)))).toBe('ok');
    expect(await outcome(strict.verify(await signedAt(T + 1000)))).toBe('not-yet-valid');
    const loose = createTokenVerifier({ secret: SECRET, now: () => T, clockSkewMs: 15 * 60_000 });
    expect(await outcome(loose.verify(await signedAt(T + 600_000)))).toBe('ok');
  });

  it('honours nbf with the same skew', async () => {
    expect(await outcome(verifier.verify(await rawToken({ nbf: S + 30 })))).toBe('ok');
    expect(await outcome(verifier.verify(await rawToken({ nbf: S + 600 })))).toBe('not-yet-valid');
    expect(await outcome(verifier.verify(await rawToken({ nbf: S - 600 })))).toBe('ok');
    expect(await outcome(verifier.verify(await rawToken({ nbf: 'soon' })))).toBe('malformed');
  });

  it('keeps expiry exact: the skew never extends exp', async () => {
    // issued 10 s before the hub clock with a 9 s lifetime: expired 1 s ago
    expect(await outcome(verifier.verify(await signedAt(T - 10_000, 9)))).toBe('expired');
    // exp exactly now is expired too (RFC 7519 §4.1.4: "on or after")
    expect(await outcome(verifier.verify(await signedAt(T - 10_000, 10)))).toBe('expired');
    expect(await outcome(verifier.verify(await signedAt(T - 10_000, 11)))).toBe('ok');
  });

  it('other refusals are unchanged', async () => {
    expect(await outcome(verifier.verify(undefined))).toBe('missing');
    expect(await outcome(verifier.verify('not.a.jwt'))).toBe('malformed');
    const foreign = await signAgentToken({ secret: 'other', name: 'x', now: () => T });
    expect(await outcome(verifier.verify(foreign))).toBe('bad-signature');
    expect(await outcome(verifier.verify(await rawToken({ sub: '' })))).toBe('bad-claims');
    const revoking = createTokenVerifier({ secret: SECRET, now: () => T, isRevoked: () => true });
    expect(await outcome(revoking.verify(await signedAt(T)))).toBe('revoked');
  });

  it('validates clockSkewMs up front, naming it', () => {
    for (const clockSkewMs of [-1, Number.NaN, Number.POSITIVE_INFINITY, '60' as unknown as number]) {
      expect(() => createTokenVerifier({ secret: SECRET, clockSkewMs })).toThrow(/clockSkewMs/);
    }
  });
});
