import { describe, expect, it } from 'vitest';
import { startAgent, startUpstream } from '../../../../test/helpers/harness.js';
import { createLogger, REDACT_PATHS } from '../../src/observability/index.js';
import { startObservedHub } from './observed-hub.js';

/** A pino destination that keeps every line, parsed. */
function collector() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  return {
    lines,
    raw,
    write(chunk: string) {
      for (const l of chunk.split('\n')) {
        if (l === '') continue;
        raw.push(l);
        lines.push(JSON.parse(l) as Record<string, unknown>);
      }
    },
  };
}

const APP_PASSWORD = 'app-pw-7f3e9c1d';
const BEARER = 'bearer-9a8b7c6d5e';
const COOKIE = 'session=cookie-44aa55bb';
const QUERY_SECRET = 'qs-secret-1234';

describe('logs', () => {
  it('writes one access-log line with the fields operators need, and no secrets anywhere', async () => {
    const out = collector();
    const logger = createLogger({ level: 'debug', destination: out });
    await using up = await startUpstream((req, res) => {
      res.writeHead(201, { 'content-type': 'text/plain', 'set-cookie': 'upstream=secret-cookie-99' });
      res.end(`seen ${req.url}`);
    });
    await using h = await startObservedHub({ appPassword: APP_PASSWORD, logger });
    await using _a = await startAgent(h, up, { name: 'logged', logger });
    const res = await fetch(`${h.url}/orders/42?api_key=${QUERY_SECRET}`, {
      method: 'POST',
      body: 'payload',
      headers: {
        'slime-app-password': APP_PASSWORD,
        authorization: `Bearer ${BEARER}`,
        cookie: COOKIE,
        'x-request-id': 'req-abc-123',
      },
    });
    expect(res.status).toBe(201);
    await res.text();
    await expect.poll(() => out.lines.filter((l) => l.msg === 'request').length).toBe(1);
    const line = out.lines.find((l) => l.msg === 'request')!;
    expect(line).toMatchObject({
      level: 'info',
      requestId: 'req-abc-123',
      method: 'POST',
      path: '/orders/42',
      status: 201,
      agent: _a.agent.hubAgentId,
      outcome: 'ok',
    });
    expect(line.bytes).toEqual(expect.any(Number));
    expect(line.durationMs).toEqual(expect.any(Number));
    expect(typeof line.time).toBe('string');

    // A refused request logs too, and still leaks nothing.
    const bad = await fetch(`${h.url}/x?api_key=${QUERY_SECRET}`, {
      headers: { 'slime-app-password': 'wrong-pw-0000', authorization: `Bearer ${BEARER}` },
    });
    expect(bad.status).toBe(401);
    await bad.text();
    await expect.poll(() => out.lines.filter((l) => l.msg === 'request').length).toBe(2);
    expect(out.lines.filter((l) => l.msg === 'request')[1]).toMatchObject({
      status: 401,
      outcome: 'ERR_HUB_UNAUTHORIZED',
    });

    // The agent token and lifecycle lines are there too, without the token.
    expect(out.lines.some((l) => l.msg === 'connected to hub')).toBe(true);
    for (const text of out.raw) {
      for (const secret of [
        APP_PASSWORD,
        BEARER,
        'cookie-44aa55bb',
        QUERY_SECRET,
        'wrong-pw-0000',
        _a.token,
      ]) {
        expect(text).not.toContain(secret);
      }
    }
  });

  it('redacts secret keys wherever a caller puts them', () => {
    const out = collector();
    const log = createLogger({ destination: out, base: { component: 'test' } });
    log.info(
      {
        authorization: 'Bearer top-1',
        token: 'top-2',
        secret: 'top-3',
        req: { headers: { authorization: 'top-4', cookie: 'top-5', 'slime-app-password': 'top-6' } },
        res: { headers: { 'set-cookie': 'top-7' } },
        agent: { token: 'top-8' },
        options: { appPassword: 'top-9', adminToken: 'top-10' },
      },
      'hello',
    );
    expect(out.raw).toHaveLength(1);
    expect(out.raw[0]).not.toMatch(/top-\d/);
    expect(out.lines[0]).toMatchObject({ component: 'test', msg: 'hello', authorization: '[redacted]' });
    expect(REDACT_PATHS).toContain('*.headers.authorization');
  });

  it('validates its options', () => {
    expect(() => createLogger({ level: 'loud' as never })).toThrow(/level/);
    expect(() => createLogger({ destination: {} as never })).toThrow(/destination/);
  });
});
