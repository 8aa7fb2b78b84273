import { describe, expect, it } from 'vitest';
import { errorCodes, isUpstreamDown, upstreamFailure } from '../src/upstream-failure.js';

const err = (code: unknown, cause?: unknown) =>
  Object.assign(new Error('x'), { code }, cause ? { cause } : {});

describe('upstreamFailure: one table for agents and URL endpoints', () => {
  it.each([
    ['ECONNREFUSED', 'connect'],
    ['ENOTFOUND', 'connect'],
    ['EHOSTUNREACH', 'connect'],
    // a connect timeout never reached the upstream: like a refusal, not like a slow answer
    ['UND_ERR_CONNECT_TIMEOUT', 'connect'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout'],
    ['ECONNRESET', 'error'],
    ['UND_ERR_SOCKET', 'error'],
    ['HPE_INVALID_CHUNK_SIZE', 'error'],
    ['SOMETHING_NEW', 'error'],
  ])('%s is %s', (code, kind) => {
    expect(upstreamFailure(err(code)).kind).toBe(kind);
  });

  it('reads the cause when the error itself has no code, and skips numeric codes', () => {
    expect(upstreamFailure(new Error('fetch failed', { cause: { code: 'ECONNREFUSED' } })).kind).toBe(
      'connect',
    );
    expect(errorCodes(err(20, { code: 'ECONNRESET' }))).toEqual(['ECONNRESET']);
    expect(upstreamFailure(undefined)).toEqual({ kind: 'error', phrase: 'upstream call failed' });
  });

  it('phrases never carry the error message (addresses, errnos, library text)', () => {
    const e = Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:9000'), { code: 'ECONNREFUSED' });
    const { phrase } = upstreamFailure(e);
    expect(phrase).toBe('upstream refused the connection');
    expect(phrase).not.toMatch(/10\.1\.2\.3|9000|ECONN/);
  });
});

describe('isUpstreamDown: the connect rows of the same table, and a reset', () => {
  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ECONNRESET'])(
    '%s says the upstream is down',
    (code) => expect(isUpstreamDown(err(code))).toBe(true),
  );
  it.each(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_SOCKET', 'HPE_INVALID_CHUNK_SIZE', 'SOMETHING_NEW'])(
    '%s does not',
    (code) => expect(isUpstreamDown(err(code))).toBe(false),
  );
});
