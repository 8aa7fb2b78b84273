import {
  assertNewStreamId,
  CloseCode,
  closeCodeFor,
  closeReason,
  consumeWindow,
  expandWindow,
  grantCredits,
  Limits,
  negotiateVersion,
  nextStreamId,
  ProtocolError,
  SUPPORTED_VERSIONS,
  sendable,
  spendCredit,
  validateAgentClaims,
  windowUpdateDue,
} from '@slime/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return (err as ProtocolError).code;
  }
  return 'no error';
}

describe('flow control arithmetic', () => {
  it('consumes and expands windows, refusing overruns', () => {
    expect(consumeWindow(100, 40)).toBe(60);
    expect(consumeWindow(100, 100)).toBe(0);
    expect(codeOf(() => consumeWindow(100, 101))).toBe('ERR_PROTOCOL_FLOW_CONTROL');
    expect(expandWindow(60, 40)).toBe(100);
    expect(codeOf(() => expandWindow(Limits.MAX_WINDOW, 1))).toBe('ERR_PROTOCOL_FLOW_CONTROL');
  });

  it('sends WINDOW once half the initial window was consumed', () => {
    expect(windowUpdateDue(0, 1000)).toBe(false);
    expect(windowUpdateDue(499, 1000)).toBe(false);
    expect(windowUpdateDue(500, 1000)).toBe(true);
    expect(windowUpdateDue(1, 1)).toBe(true);
  });

  it('never lets a sender exceed its window (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 100_000 }), { maxLength: 50 }),
        fc.nat({ max: 1_000_000 }),
        (chunks, w0) => {
          let window = w0;
          let sent = 0;
          for (const c of chunks) {
            const n = sendable(c, window, 16_384);
            expect(n).toBeLessThanOrEqual(16_384);
            window = consumeWindow(window, n);
            sent += n;
          }
          expect(sent).toBeLessThanOrEqual(w0);
          expect(window).toBe(w0 - sent);
        },
      ),
    );
  });

  it('spends and grants credits within bounds', () => {
    expect(grantCredits(0, 3)).toBe(3);
    expect(spendCredit(3)).toBe(2);
    expect(codeOf(() => spendCredit(0))).toBe('ERR_PROTOCOL_FLOW_CONTROL');
    expect(codeOf(() => grantCredits(Limits.MAX_CREDITS, 1))).toBe('ERR_PROTOCOL_FLOW_CONTROL');
  });

  it('requires strictly increasing stream ids', () => {
    expect(codeOf(() => assertNewStreamId(0, 1))).toBe('no error');
    expect(codeOf(() => assertNewStreamId(5, 5))).toBe('ERR_PROTOCOL_DUPLICATE_STREAM');
    expect(codeOf(() => assertNewStreamId(5, 3))).toBe('ERR_PROTOCOL_DUPLICATE_STREAM');
    expect(nextStreamId(41)).toBe(42);
    expect(codeOf(() => nextStreamId(Limits.MAX_STREAM_ID))).toBe('ERR_PROTOCOL_BAD_STREAM_ID');
  });
});

describe('version negotiation', () => {
  it('picks the highest common version', () => {
    expect(negotiateVersion({ min: 1, max: 3 }, { min: 2, max: 5 })).toBe(3);
    expect(negotiateVersion(SUPPORTED_VERSIONS, SUPPORTED_VERSIONS)).toBe(SUPPORTED_VERSIONS.max);
  });

  it('refuses disjoint ranges with a version error that maps to close code 4001', () => {
    let caught: unknown;
    try {
      negotiateVersion({ min: 1, max: 1 }, { min: 2, max: 3 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ProtocolError);
    expect((caught as ProtocolError).code).toBe('ERR_PROTOCOL_VERSION');
    expect(closeCodeFor(caught as ProtocolError)).toBe(CloseCode.UNSUPPORTED_VERSION);
  });

  it('keeps close reasons within the 123 bytes WebSocket allows, on a character boundary', () => {
    const reason = closeReason('é'.repeat(200));
    expect(new TextEncoder().encode(reason).length).toBeLessThanOrEqual(123);
    expect(reason.endsWith('...')).toBe(true);
    expect(closeReason('short')).toBe('short');
  });
});

describe('agent claims', () => {
  it('accepts a full claim set', () => {
    const claims = { sub: 'gpu', jti: 'j1', iat: 100, exp: 200, scopes: ['a', 'b'], scopePaths: ['/x'] };
    expect(validateAgentClaims(claims)).toEqual(claims);
    expect(validateAgentClaims({ sub: 'gpu', jti: 'j1', iat: 1 })).toEqual({ sub: 'gpu', jti: 'j1', iat: 1 });
  });

  it.each([
    ['not an object', 'x'],
    ['missing sub', { jti: 'j', iat: 1 }],
    ['empty jti', { sub: 's', jti: '', iat: 1 }],
    ['fractional iat', { sub: 's', jti: 'j', iat: 1.5 }],
    ['exp before iat', { sub: 's', jti: 'j', iat: 10, exp: 5 }],
    ['scopes not an array', { sub: 's', jti: 'j', iat: 1, scopes: 'a,b' }],
    ['scope with a comma', { sub: 's', jti: 'j', iat: 1, scopes: ['a,b'] }],
    ['scope path without a slash', { sub: 's', jti: 'j', iat: 1, scopePaths: ['x'] }],
  ])('rejects %s', (_label, payload) => {
    expect(codeOf(() => validateAgentClaims(payload))).toBe('ERR_PROTOCOL_BAD_CLAIMS');
  });
});
