import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { HubError } from '../../src/errors.js';
import type { ProxyResponse, RequestContext } from '../../src/pipeline/context.js';
import { errorBoundary } from '../../src/pipeline/policies/error-boundary.js';
import { fakeContext } from '../policy/fake-context.js';
import { recordingResponse } from './recording-response.js';

function setup() {
  const res = recordingResponse();
  const ctx = fakeContext() as RequestContext;
  Object.assign(ctx, { res });
  return { ctx, res };
}

const answer = (text: string): ProxyResponse => ({
  status: 201,
  headers: [['content-type', 'text/plain']],
  servedBy: 'agent-1',
  body: {
    pipe: async (res: ServerResponse) => void res.end(text),
    discard: () => {},
    readAll: async () => new TextEncoder().encode(text),
    failure: null,
  },
});

describe('the error boundary (no sockets: a recording response)', () => {
  it('writes the result with X-Request-Id, Slime-Agent-Id and policy headers; the outcome is ok', async () => {
    const s = setup();
    s.ctx.responseHeaders.ratelimit = 'limit=5';
    await errorBoundary()(s.ctx, async () => {
      s.ctx.result = answer('made');
    });
    expect(s.res.statusCode).toBe(201);
    expect(s.res.body).toBe('made');
    expect(s.res.headers).toMatchObject({
      'x-request-id': 'req-1',
      'slime-agent-id': 'agent-1',
      ratelimit: 'limit=5',
    });
    expect(s.ctx.notes.outcome).toBe('ok');
  });

  it('a HubError becomes problem+json with its status, code, headers and the policies’ headers', async () => {
    const s = setup();
    s.ctx.responseHeaders.ratelimit = 'limit=5';
    await errorBoundary()(s.ctx, async () => {
      throw new HubError('ERR_HUB_RATE_LIMITED', 'slow down', { retryAfter: 2 });
    });
    expect(s.res.statusCode).toBe(429);
    expect(s.res.headers['content-type']).toBe('application/problem+json');
    expect(s.res.headers['retry-after']).toBe('2');
    expect(s.res.headers.ratelimit).toBe('limit=5');
    expect(JSON.parse(s.res.body)).toMatchObject({ code: 'ERR_HUB_RATE_LIMITED', requestId: 'req-1' });
    expect(s.ctx.notes).toMatchObject({ outcome: 'ERR_HUB_RATE_LIMITED', status: 429 });
  });

  it('a next() that throws synchronously is answered like a rejection', async () => {
    const s = setup();
    await errorBoundary()(s.ctx, () => {
      throw new HubError('ERR_HUB_FORBIDDEN', 'no');
    });
    expect(s.res.statusCode).toBe(403);
    expect(JSON.parse(s.res.body)).toMatchObject({ code: 'ERR_HUB_FORBIDDEN', requestId: 'req-1' });
    expect(s.ctx.notes).toMatchObject({ outcome: 'ERR_HUB_FORBIDDEN', status: 403 });
  });

  it('a body that fails while piped is recorded as the outcome', async () => {
    const s = setup();
    const result = answer('x');
    result.body.pipe = () => Promise.reject(new HubError('ERR_HUB_CLIENT_GONE', 'left'));
    await errorBoundary()(s.ctx, async () => {
      s.ctx.result = result;
    });
    expect(s.ctx.notes.outcome).toBe('ERR_HUB_CLIENT_GONE');
  });

  it('a pipeline that produced nothing, or threw a plain Error, is 500 ERR_HUB_INTERNAL', async () => {
    for (const next of [async () => {}, () => Promise.reject(new Error('bug'))]) {
      const s = setup();
      await errorBoundary()(s.ctx, next);
      expect(s.res.statusCode).toBe(500);
      expect(JSON.parse(s.res.body)).toMatchObject({ code: 'ERR_HUB_INTERNAL' });
    }
  });

  it('a client that went away gets nothing written: the response is destroyed', async () => {
    const s = setup();
    await errorBoundary()(s.ctx, async () => {
      throw new HubError('ERR_HUB_CLIENT_GONE', 'gone');
    });
    expect(s.res.destroyed).toBe(true);
    expect(s.res.body).toBe('');
    expect(s.ctx.notes.outcome).toBe('ERR_HUB_CLIENT_GONE');
  });
});
