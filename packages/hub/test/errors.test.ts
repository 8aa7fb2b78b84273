import { describe, expect, it } from 'vitest';
import { clientGone, expectedError, HubError } from '../src/errors.js';

describe('expected errors (designed answers)', () => {
  it('are HubErrors with their code, status and headers, built without a stack trace', () => {
    const err = expectedError('ERR_HUB_QUEUE_FULL', 'wait queue is full (4)', { retryAfter: 1.2 });
    expect(err).toBeInstanceOf(HubError);
    expect(err).toMatchObject({ code: 'ERR_HUB_QUEUE_FULL', status: 503, message: 'wait queue is full (4)' });
    expect(err.headers['retry-after']).toBe('2');
    // only the "HubError: message" line: no frames were captured
    expect(err.stack?.split('\n')).toHaveLength(1);
    expect(clientGone()).toMatchObject({ code: 'ERR_HUB_CLIENT_GONE', status: 499 });
    expect(clientGone().stack?.split('\n')).toHaveLength(1);
  });

  it('leave the stack trace limit as they found it, and other errors keep their stacks', () => {
    const before = Error.stackTraceLimit;
    expectedError('ERR_HUB_NO_AGENT', 'no agent is free');
    expect(Error.stackTraceLimit).toBe(before);
    expect(new HubError('ERR_HUB_INTERNAL', 'bug').stack?.split('\n').length).toBeGreaterThan(1);
  });
});
