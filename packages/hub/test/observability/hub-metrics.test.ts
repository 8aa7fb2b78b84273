import { describe, expect, it } from 'vitest';
import { startAgent, startUpstream } from '../../../../test/helpers/harness.js';
import { createHubMetrics } from '../../src/observability/index.js';
import { parseExposition, sampleValue, sumOf } from './exposition.js';
import { startObservedHub } from './observed-hub.js';

const upstreamHandler = (req: { url?: string | undefined }, res: import('node:http').ServerResponse) => {
  if (req.url?.startsWith('/missing')) {
    res.writeHead(404).end('nope');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain' }).end('hello world');
};

describe('hub metrics', () => {
  it('counts requests by outcome and status class, with duration, ttfb and bytes', async () => {
    await using up = await startUpstream(upstreamHandler);
    await using h = await startObservedHub();
    await using _a = await startAgent(h, up);
    const before = await h.scrape();
    expect(sampleValue(before, 'slime_requests_total', { outcome: 'ok', status_class: '2xx' })).toBe(0);

    for (const path of ['/a', '/b?x=1', '/missing']) {
      const res = await fetch(`${h.url}${path}`);
      await res.arrayBuffer();
    }
    await expect
      .poll(async () =>
        sampleValue(await h.scrape(), 'slime_request_duration_seconds_count', { status_class: '4xx' }),
      )
      .toBe(1);
    const s = await h.scrape();
    expect(sampleValue(s, 'slime_requests_total', { outcome: 'ok', status_class: '2xx' })).toBe(2);
    expect(sampleValue(s, 'slime_requests_total', { outcome: 'ok', status_class: '4xx' })).toBe(1);
    expect(sampleValue(s, 'slime_request_duration_seconds_count', { status_class: '2xx' })).toBe(2);
    expect(sampleValue(s, 'slime_request_ttfb_seconds_count')).toBe(3);
    expect(h.metrics.requestsTotal()).toBe(3);
    // No raw paths, query strings or addresses in any label.
    for (const sample of s) {
      for (const v of Object.values(sample.labels)) expect(v).not.toMatch(/\/|127\.0\.0\.1|x=1/);
    }
  });

  it('labels hub errors with their code', async () => {
    await using h = await startObservedHub({ appPassword: 'pw' });
    expect((await fetch(`${h.url}/x`)).status).toBe(401);
    expect((await fetch(`${h.url}/x`, { headers: { 'slime-app-password': 'pw' } })).status).toBe(503);
    await expect
      .poll(async () => sumOf(await h.scrape(), 'slime_requests_total', { status_class: '5xx' }))
      .toBe(1);
    const s = await h.scrape();
    expect(
      sampleValue(s, 'slime_requests_total', { outcome: 'ERR_HUB_UNAUTHORIZED', status_class: '4xx' }),
    ).toBe(1);
    expect(sampleValue(s, 'slime_requests_total', { outcome: 'ERR_HUB_NO_AGENT', status_class: '5xx' })).toBe(
      1,
    );
  });

  it('reports agents and free/used slots per scope at scrape time, and connection events', async () => {
    await using up = await startUpstream(upstreamHandler);
    await using h = await startObservedHub();
    const gpu = await startAgent(h, up, { name: 'gpu', scopes: ['gpu', 'batch'], numWorker: 3 });
    await using _plain = await startAgent(h, up, { name: 'plain', numWorker: 2 });
    await expect
      .poll(async () => sampleValue(await h.scrape(), 'slime_agent_slots', { scope: 'gpu', state: 'free' }))
      .toBe(3);
    const s = await h.scrape();
    expect(sampleValue(s, 'slime_agents', { scope: 'gpu' })).toBe(1);
    expect(sampleValue(s, 'slime_agents', { scope: 'batch' })).toBe(1);
    expect(sampleValue(s, 'slime_agents', { scope: '_any' })).toBe(1);
    expect(sampleValue(s, 'slime_agent_slots', { scope: '_any', state: 'free' })).toBe(2);
    expect(sampleValue(s, 'slime_agent_slots', { scope: '_any', state: 'used' })).toBe(0);
    expect(sampleValue(s, 'slime_agent_connections_total', { event: 'connected' })).toBe(2);

    await gpu.agent.close();
    await expect
      .poll(async () => sampleValue(await h.scrape(), 'slime_agents', { scope: 'gpu' }))
      .toBeUndefined();
    const after = await h.scrape();
    expect(sumOf(after, 'slime_agent_connections_total', { event: 'disconnected' })).toBe(1);
    expect(sampleValue(after, 'slime_agents', { scope: '_any' })).toBe(1);
  });

  it('records queue waits and refused agents through the hub hooks', async () => {
    await using up = await startUpstream(upstreamHandler);
    await using h = await startObservedHub();
    const gone = new AbortController();
    const left = fetch(`${h.url}/wait`, { headers: { 'slime-block': '1' }, signal: gone.signal });
    await expect.poll(async () => sampleValue(await h.scrape(), 'slime_queue_length')).toBe(1);
    gone.abort();
    await expect(left).rejects.toThrow();
    await expect
      .poll(async () =>
        sampleValue(await h.scrape(), 'slime_queue_wait_seconds_count', { outcome: 'client-gone' }),
      )
      .toBe(1);
    const waiting = fetch(`${h.url}/wait`, { headers: { 'slime-block': '1' } });
    await expect.poll(async () => sampleValue(await h.scrape(), 'slime_queue_length')).toBe(1);
    await using _a = await startAgent(h, up);
    expect((await waiting).status).toBe(200);
    const s = await h.scrape();
    expect(sampleValue(s, 'slime_queue_wait_seconds_count', { outcome: 'dispatched' })).toBe(1);
    await expect(startAgent(h, up, { token: 'not-a-jwt' })).rejects.toThrow();
    await expect
      .poll(async () => sampleValue(await h.scrape(), 'slime_agent_connections_total', { event: 'refused' }))
      .toBe(1);
  });

  it('reads the queue length and active requests from the hub', async () => {
    const fake = { agents: () => [], queueLength: 7, activeRequests: 3 };
    const m = createHubMetrics(fake, { defaultMetrics: false });
    const s = parseExposition(await m.metrics());
    expect(sampleValue(s, 'slime_queue_length')).toBe(7);
    expect(sampleValue(s, 'slime_active_requests')).toBe(3);
    expect(sampleValue(s, 'slime_agents')).toBeUndefined();
  });

  it('exposes queue waits, bytes and policy outcomes, and bounds free-text labels', async () => {
    const m = createHubMetrics(() => undefined, { defaultMetrics: false, maxLabelValues: 2 });
    m.onWait(250, 'dispatched');
    m.onWait(1500, 'timeout');
    m.agentBytes('to_agent', 100);
    m.agentBytes('from_agent', 40);
    m.agentRefused('expired');
    m.rateLimited('per-ip');
    m.rateLimited('per-ip');
    m.rateLimited('global');
    m.rateLimited('third-rule'); // over the cap: "other"
    m.rateLimited('/bad path'); // not an identifier: "other"
    m.fallbackAttempt('ok');
    m.shapingSource(() => [
      {
        group: 'gpu',
        mode: 'aimd',
        limit: 12,
        learnedLimit: 12,
        inFlight: 5,
        paced: true,
        spacingMs: 250,
        rejections: 1,
        signalFactor: 0.5,
        signalErrors: 0,
      },
    ]);
    m.shapingRejected('gpu');
    m.observe({
      status: 403,
      outcome: 'ERR_HUB_FORBIDDEN',
      durationMs: 1,
      ttfbMs: 1,
      bytesOut: 10,
      agent: undefined,
    });
    m.observe({
      status: 499,
      outcome: 'weird outcome!',
      durationMs: 1,
      ttfbMs: undefined,
      bytesOut: 0,
      agent: 'a#1',
    });
    const s = parseExposition(await m.metrics());
    expect(sampleValue(s, 'slime_queue_wait_seconds_count', { outcome: 'dispatched' })).toBe(1);
    expect(sampleValue(s, 'slime_queue_wait_seconds_sum', { outcome: 'timeout' })).toBe(1.5);
    expect(sampleValue(s, 'slime_queue_length')).toBe(0);
    expect(sampleValue(s, 'slime_agent_bytes_total', { direction: 'to_agent' })).toBe(100);
    expect(sampleValue(s, 'slime_agent_bytes_total', { direction: 'from_agent' })).toBe(40);
    expect(sampleValue(s, 'slime_agent_connections_total', { event: 'refused', reason: 'expired' })).toBe(1);
    expect(sampleValue(s, 'slime_ratelimit_limited_total', { rule: 'per-ip' })).toBe(2);
    expect(sampleValue(s, 'slime_ratelimit_limited_total', { rule: 'global' })).toBe(1);
    expect(sampleValue(s, 'slime_ratelimit_limited_total', { rule: 'other' })).toBe(2);
    expect(sampleValue(s, 'slime_fallback_attempts_total', { outcome: 'ok' })).toBe(1);
    expect(sampleValue(s, 'slime_shaping_limit', { group: 'gpu' })).toBe(12);
    expect(sampleValue(s, 'slime_shaping_in_flight', { group: 'gpu' })).toBe(5);
    expect(sampleValue(s, 'slime_shaping_paced', { group: 'gpu' })).toBe(1);
    expect(sampleValue(s, 'slime_shaping_spacing_seconds', { group: 'gpu' })).toBe(0.25);
    expect(sampleValue(s, 'slime_shaping_signal_factor', { group: 'gpu' })).toBe(0.5);
    expect(sampleValue(s, 'slime_shaping_rejected_total', { group: 'gpu' })).toBe(1);
    expect(sampleValue(s, 'slime_policy_denied_total')).toBe(1);
    expect(sampleValue(s, 'slime_response_bytes_total')).toBe(10);
    expect(sampleValue(s, 'slime_requests_total', { outcome: 'other', status_class: '4xx' })).toBe(1);
    expect(sampleValue(s, 'slime_request_ttfb_seconds_count')).toBe(1);
  });

  it('gives each instance its own registry, with process metrics by default', async () => {
    const a = createHubMetrics(() => undefined);
    const b = createHubMetrics(() => undefined);
    expect(a.registry).not.toBe(b.registry);
    a.agentBytes('to_agent', 5);
    const sa = parseExposition(await a.metrics());
    const sb = parseExposition(await b.metrics());
    expect(sampleValue(sa, 'slime_agent_bytes_total', { direction: 'to_agent' })).toBe(5);
    expect(sampleValue(sb, 'slime_agent_bytes_total', { direction: 'to_agent' })).toBe(0);
    expect(sampleValue(sa, 'process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);
    expect(a.contentType).toMatch(/^text\/plain/);
  });

  it('validates its options', () => {
    expect(() => createHubMetrics(null as never)).toThrow(TypeError);
    expect(() => createHubMetrics(() => undefined, { maxLabelValues: 0 })).toThrow(/maxLabelValues/);
  });
});
