import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createTokenVerifier, signAgentToken, TokenError } from '../../src/agents/tokens.js';
import {
  createGoTokenVerifier,
  decodeGoToken,
  goTokenClaims,
  goTokenKey,
  isGoClaims,
  looksLikeGoToken,
  withGoTokens,
} from '../../src/go-compat/go-token.js';
import { decodeBase32, readProtoFields } from '../../src/go-compat/wire-reader.js';
import {
  base32NoPad,
  marshalGoToken,
  mintGoToken,
  registerGoToken,
  sealGoToken,
} from './go-token-fixture.js';

const hex = (s: string) => Buffer.from(s, 'hex');

/**
 * Known answers from the Go Slime Proxy v1.1.17's own code: its pkg/token (manager.go and the
 * generated token.pb.go) built with Go 1.19 and google.golang.org/protobuf, crypto/rand.Reader
 * swapped for the nonce below, `TokenManager.Encrypt` printing the token and `proto.Marshal`
 * the plaintext.
 */
const GO_VECTORS = [
  {
    what: 'the name "alpha", no expiry: 45 raw bytes, 72 characters',
    secret: 's3cret',
    nonce: '000102030405060708090a0b',
    plaintext: '08d2faf3bf90c4e0b24d1205616c706861',
    token: 'AAAQEAYEAUDAOCAJBIFWORFRP6ZR5KBGNIAL6WUFFGHWK2CQVEEPYZ762M3YQRF45QAR5IK5',
    fields: { id: 5577006791947779410n, name: 'alpha', expireAt: 0, scopePaths: [], scopes: [] },
  },
  {
    what: 'a secret over 32 bytes (cut), expiry, scope paths and scopes',
    secret: '0123456789abcdef0123456789abcdef-and-more-than-32-bytes',
    nonce: 'a0a1a2a3a4a5a6a7a8a9aaab',
    plaintext:
      '08cfacfcf9f5c1a6b17812056770752d311880f2d6ca0622082f76312f6368617422092f76312f656d6265642a036c6c6d2a056261746368',
    token:
      'UCQ2FI5EUWTKPKFJVKV55BR4BJDBSUDOBUFQNW6F5RDW6Y3XLTEMJKUVQY3LDW2VA4ETNEOYD5P3JMPRYH3ZJHFDP5A2N3PDIEDAZGWGNO7PBX6DXDCPHKD466SKT7FZDLKI3SI',
    fields: {
      id: 8674665223082153551n,
      name: 'gpu-1',
      expireAt: 1767225600,
      scopePaths: ['/v1/chat', '/v1/embed'],
      scopes: ['llm', 'batch'],
    },
  },
  {
    what: 'a multibyte secret (zero-padded UTF-8) and a non-ASCII name',
    secret: '秘密-ключ',
    nonce: 'ffeeddccbbaa998877665544',
    plaintext: '0801120668c3a96c6c6f1880e2cfaa062a0173',
    token: '77XN3TF3VKMYQ53GKVCCT3C5JEA2RCV5GRPKGPLC4LSMYJQ4O6WAYQE53SLEYTRLLP4VK3ICINSQ',
    fields: { id: 1n, name: 'héllo', expireAt: 1700000000, scopePaths: [], scopes: ['s'] },
  },
  {
    what: 'an all-default token: empty plaintext',
    secret: 'x',
    nonce: '0c0c0c0c0c0c0c0c0c0c0c0c',
    plaintext: '',
    token: 'BQGAYDAMBQGAYDAMBQGDAOEY6LAJ4YNLJQZELUG2SY37Q',
    fields: { id: 0n, name: '', expireAt: 0, scopePaths: [], scopes: [] },
  },
];

/** The rejection reason of a sync or async call, or 'ok'. */
async function outcome(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    if (err instanceof TokenError) return err.reason;
    throw err;
  }
}

describe('Go tokens: known answers from the Go source', () => {
  for (const v of GO_VECTORS) {
    it(`decodes ${v.what}`, () => {
      const t = decodeGoToken(v.token, v.secret);
      expect(t).toEqual({ ...v.fields, id: v.fields.id.toString() });
    });

    it(`the fixture mints ${v.what} byte for byte`, () => {
      expect(Buffer.from(marshalGoToken(v.fields)).toString('hex')).toBe(v.plaintext);
      expect(mintGoToken(v.secret, v.fields, hex(v.nonce))).toBe(v.token);
    });
  }

  it('the Go key is the secret zero-padded or cut to 32 bytes', () => {
    expect(goTokenKey('s3cret').toString('hex')).toBe(
      `${Buffer.from('s3cret').toString('hex')}${'00'.repeat(26)}`,
    );
    expect(goTokenKey('a'.repeat(40))).toEqual(Buffer.alloc(32, 'a'));
    // the first 32 bytes are the key: a longer secret that shares them opens the same tokens
    const v = GO_VECTORS[1]!;
    expect(decodeGoToken(v.token, `${v.secret.slice(0, 32)}anything else`).name).toBe('gpu-1');
  });
});

describe('Go tokens: decoding', () => {
  it('round-trips whatever `hub register` can mint (fast-check)', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 20 });
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 50 }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        text,
        fc.bigInt({ min: 0n, max: 2n ** 40n }),
        fc.array(text, { maxLength: 4 }),
        fc.array(text, { maxLength: 4 }),
        (secret, id, name, expireAt, scopePaths, scopes) => {
          const token = mintGoToken(secret, { id, name, expireAt, scopePaths, scopes });
          expect(looksLikeGoToken(token)).toBe(true);
          expect(decodeGoToken(token, secret)).toEqual({
            id: id.toString(),
            name,
            expireAt: Number(expireAt),
            scopePaths,
            scopes,
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses another secret, an altered token, and what is not a Go token, with their reasons', async () => {
    const token = mintGoToken('right', { id: 7n, name: 'n' });
    expect(await outcome(() => decodeGoToken(token, 'wrong'))).toBe('bad-signature');
    // every character changed in its top bit (always a data bit; the last character's low bits
    // may be padding, which Go ignores too) breaks the tag
    const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    for (let i = 0; i < token.length; i++) {
      const c = B32[(B32.indexOf(token[i]!) + 16) % 32]!;
      const altered = token.slice(0, i) + c + token.slice(i + 1);
      expect(await outcome(() => decodeGoToken(altered, 'right'))).toBe('bad-signature');
    }
    expect(await outcome(() => decodeGoToken(token.toLowerCase(), 'right'))).toBe('malformed');
    expect(await outcome(() => decodeGoToken(`${token}=`, 'right'))).toBe('malformed');
    expect(await outcome(() => decodeGoToken('eyJhbGciOiJIUzI1NiJ9.e30.sig', 'right'))).toBe('malformed');
    expect(await outcome(() => decodeGoToken('AAAA', 'right'))).toBe('malformed');
    // 1, 3 or 6 characters in the last group cannot come from whole bytes
    expect(await outcome(() => decodeGoToken(`${token}A`, 'right'))).toBe('malformed');
  });

  it('refuses a sealed payload that is not the token message, as Go proto.Unmarshal does', async () => {
    const bad = [
      Uint8Array.of(0x08), // truncated varint
      Uint8Array.of(0x12, 0x05, 0x61), // string longer than the message
      Uint8Array.of(0x12, 0x02, 0xc3, 0x28), // a name that is not UTF-8
      Uint8Array.of(0x0b), // a group (wire type 3)
      Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02), // varint > 64 bits
      Uint8Array.of(0x00, 0x01), // field number 0
    ];
    for (const plaintext of bad) {
      expect(await outcome(() => decodeGoToken(sealGoToken('s', plaintext), 's'))).toBe('malformed');
    }
  });

  it('skips unknown fields and fields of another wire type; the last scalar wins', () => {
    const plaintext = Uint8Array.from([
      ...[0x30, 0x05], // field 6, varint: unknown
      ...[0x0a, 0x01, 0x41], // field 1 as bytes: not the int64, skipped
      ...[0x08, 0x02], // id = 2
      ...[0x08, 0x03], // id = 3 (wins)
      ...[0x3d, 1, 2, 3, 4], // field 7, fixed32
      ...[0x41, 1, 2, 3, 4, 5, 6, 7, 8], // field 8, fixed64
      ...[0x12, 0x01, 0x62], // name "b"
    ]);
    expect(decodeGoToken(sealGoToken('s', plaintext), 's')).toMatchObject({ id: '3', name: 'b' });
  });

  it('maps a Go token to our claims: name, go:<id>, expiry, scopes and scope paths as they are', () => {
    const t = decodeGoToken(GO_VECTORS[1]!.token, GO_VECTORS[1]!.secret);
    const claims = goTokenClaims(t);
    expect(claims).toEqual({
      sub: 'gpu-1',
      jti: 'go:8674665223082153551',
      iat: 0,
      exp: 1767225600,
      scopes: ['llm', 'batch'],
      scopePaths: ['/v1/chat', '/v1/embed'],
    });
    expect(isGoClaims(claims)).toBe(true);
    // no expiry, no scopes: none in the claims; a nameless token still has a subject
    expect(goTokenClaims(decodeGoToken(GO_VECTORS[3]!.token, 'x'))).toEqual({
      sub: 'go-0',
      jti: 'go:0',
      iat: 0,
    });
  });

  it('base32 and protobuf readers agree with independent encoders', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(decodeBase32(base32NoPad(bytes))).toEqual(bytes);
      }),
    );
    expect(decodeBase32('A1')).toBeNull();
    expect([...readProtoFields(Uint8Array.of(0x08, 0x96, 0x01))]).toEqual([
      { field: 1, wireType: 0, varint: 150n },
    ]);
  });
});

describe('Go tokens: verification', () => {
  const SECRET = 'verify-secret';
  const EXP = 1_900_000_000;

  it('honours expiry as the Go hub did: refused once the clock is past expire_at', async () => {
    const token = mintGoToken(SECRET, { id: 1n, name: 'a', expireAt: EXP });
    const at = (ms: number) => createGoTokenVerifier({ secret: SECRET, now: () => ms }).verify(token);
    expect(await outcome(() => at(EXP * 1000))).toBe('ok');
    expect(await outcome(() => at(EXP * 1000 + 1))).toBe('expired');
    const never = registerGoToken(SECRET, { name: 'b' });
    expect(
      await outcome(() => createGoTokenVerifier({ secret: SECRET, now: () => 8e15 }).verify(never)),
    ).toBe('ok');
    // a token minted with --age 1h by the fixture's `hub register`
    const aged = registerGoToken(SECRET, { name: 'c', ageSeconds: 3600, nowMs: 1_000_000_000_000 });
    const v = (ms: number) => createGoTokenVerifier({ secret: SECRET, now: () => ms }).verify(aged);
    expect(await outcome(() => v(1_000_000_000_000 + 3_599_000))).toBe('ok');
    expect(await outcome(() => v(1_000_000_000_000 + 3_601_000))).toBe('expired');
  });

  it('revokes by name and by go:<id>, on every call (cached decodes included)', async () => {
    const revoked = new Set<string>();
    const verifier = createGoTokenVerifier({
      secret: SECRET,
      isRevoked: (c) => revoked.has(c.sub) || revoked.has(c.jti),
    });
    const token = mintGoToken(SECRET, { id: 42n, name: 'gpu-7' });
    expect((await verifier.verify(token)).sub).toBe('gpu-7');
    revoked.add('gpu-7');
    expect(await outcome(() => verifier.verify(token))).toBe('revoked');
    revoked.clear();
    revoked.add('go:42');
    expect(await outcome(() => verifier.verify(token))).toBe('revoked');
    revoked.clear();
    expect(await outcome(() => verifier.verify(token))).toBe('ok');
    expect(await outcome(() => verifier.verify(undefined))).toBe('missing');
  });

  it('withGoTokens sends each format to its verifier', async () => {
    const jwt = createTokenVerifier({ secret: SECRET });
    const both = withGoTokens(jwt, createGoTokenVerifier({ secret: SECRET }));
    const goClaims = await both.verify(mintGoToken(SECRET, { id: 9n, name: 'go-agent' }));
    expect(goClaims).toMatchObject({ sub: 'go-agent', jti: 'go:9' });
    const ours = await both.verify(await signAgentToken({ secret: SECRET, name: 'native' }));
    expect(ours.sub).toBe('native');
    expect(await outcome(() => both.verify('garbage'))).toBe('malformed');
    // without the wrapper, a Go token is just a malformed JWT
    expect(await outcome(() => jwt.verify(mintGoToken(SECRET, { id: 9n, name: 'g' })))).toBe('malformed');
  });
});
