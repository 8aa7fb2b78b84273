import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { createOtlpTracing } from '../packages/cli/src/otel.js';
import { deferred, startAgent, startHub, startUpstream } from './helpers/harness.js';
import { captureLog } from './helpers/log-capture.js';
import { startOtlpReceiver } from './helpers/otlp-receiver.js';

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

describe('OpenTelemetry tracing', () => {
  it('exports hub and agent spans over OTLP with the client -> hub -> dispatch -> agent -> upstream links', async () => {
    await using receiver = await startOtlpReceiver();
    const hubTracing = await createOtlpTracing({ url: `${receiver.url}/v1/traces`, serviceName: 'hub' });
    const agentTracing = await createOtlpTracing({ url: `${receiver.url}/v1/traces`, serviceName: 'agent' });
    const seen: { traceparent?: string; tracestate?: string }[] = [];
    await using upstream = await startUpstream((req, res) => {
      seen.push({
        traceparent: req.headers.traceparent as string,
        tracestate: req.headers.tracestate as string,
      });
      res.end('ok');
    });
    const log = captureLog('info');
    await using hub = await startHub({ tracer: hubTracing.tracer, logger: log.logger });
    await using agent = await startAgent(hub, upstream, { tracer: agentTracing.tracer });
    let calls = 0;
    agent.agent.on('callFinished', () => calls++);

    const r = await request(`${hub.url}/traced?secret=1`, {
      headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, tracestate: 'vendor=abc' },
    });
    expect(await r.body.text()).toBe('ok');
    // a request without a traceparent starts a trace at the hub
    const fresh = await request(`${hub.url}/fresh`);
    await fresh.body.text();
    // spans end when the response closes on the hub and when the call ends on the agent
    await vi.waitFor(() => expect(log.lines.filter((l) => l.msg === 'request')).toHaveLength(2));
    await vi.waitFor(() => expect(calls).toBe(2));
    await agentTracing.shutdown();
    await hubTracing.shutdown();

    expect(
      receiver.posts.every((p) => p.path === '/v1/traces' && p.contentType.startsWith('application/json')),
    ).toBe(true);
    const inTrace = receiver.spans.filter((s) => s.traceId === CLIENT_TRACE);
    const server = inTrace.find((s) => s.service === 'hub' && s.name === 'GET');
    const dispatch = inTrace.find((s) => s.service === 'hub' && s.name === 'slime.dispatch');
    const call = inTrace.find((s) => s.service === 'agent' && s.name === 'upstream GET');
    expect(server).toMatchObject({
      kind: 2, // SERVER
      parentSpanId: CLIENT_SPAN,
      attributes: {
        'http.request.method': 'GET',
        'url.path': '/traced',
        'http.response.status_code': 200,
        'slime.outcome': 'ok',
      },
    });
    expect(server!.attributes['slime.agent.id']).toBe('agent#1');
    expect(server!.attributes['slime.dispatch_ms']).toBeGreaterThanOrEqual(0);
    expect(dispatch).toMatchObject({ parentSpanId: server!.spanId, attributes: { 'slime.attempt': 1 } });
    expect(call).toMatchObject({
      kind: 3, // CLIENT
      parentSpanId: dispatch!.spanId,
      attributes: { 'http.response.status_code': 200, 'slime.outcome': 'ok', 'url.path': '/traced' },
    });
    // the upstream's parent is the agent's span; tracestate travels as the client sent it
    expect(seen[0]).toEqual({
      traceparent: `00-${CLIENT_TRACE}-${call!.spanId}-01`,
      tracestate: 'vendor=abc',
    });

    const started = seen[1]!.traceparent!.split('-');
    expect(started[1]).not.toBe(CLIENT_TRACE);
    const freshServer = receiver.spans.find((s) => s.name === 'GET' && s.traceId === started[1]);
    expect(freshServer?.parentSpanId).toBe('');
    // trace ids in the access log
    const lines = log.lines.filter((l) => l.msg === 'request');
    expect(lines.map((l) => l.traceId)).toEqual([CLIENT_TRACE, started[1]]);
  });

  it('without a tracer the traceparent passes through untouched and the access log still names the trace', async () => {
    const seen: string[] = [];
    await using upstream = await startUpstream((req, res) => {
      seen.push(String(req.headers.traceparent));
      res.end('ok');
    });
    const log = captureLog('info');
    await using hub = await startHub({ logger: log.logger });
    await using _agent = await startAgent(hub, upstream);
    const tp = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;
    await (await request(`${hub.url}/x`, { headers: { traceparent: tp } })).body.text();
    expect(seen).toEqual([tp]);
    await vi.waitFor(() => expect(log.lines.find((l) => l.msg === 'request')?.traceId).toBe(CLIENT_TRACE));
  });

  it('a request that waited for a free agent carries its queue wait on the request span', async () => {
    await using receiver = await startOtlpReceiver();
    const hubTracing = await createOtlpTracing({ url: `${receiver.url}/v1/traces`, serviceName: 'hub' });
    const release = deferred();
    await using upstream = await startUpstream(async (req, res) => {
      if (req.url === '/hold') await release.promise;
      res.end('ok');
    });
    await using hub = await startHub({ tracer: hubTracing.tracer });
    await using _agent = await startAgent(hub, upstream, { numWorker: 1 });
    const held = request(`${hub.url}/hold`).then((r) => r.body.text());
    await vi.waitFor(() => expect(upstream.inFlight).toBe(1));
    const waiting = request(`${hub.url}/queued`, { headers: { 'slime-block': '1' } }).then((r) =>
      r.body.text(),
    );
    await vi.waitFor(() => expect(hub.hub.queueLength).toBe(1));
    const queuedBy = performance.now();
    // a few round trips through the hub while the only slot is held: the queued request waits on
    for (let i = 0; i < 10; i++)
      expect((await request(`${hub.url}/nothing`, { headers: { 'slime-block': '0' } })).statusCode).toBe(503);
    const releasedAt = performance.now();
    release.resolve();
    expect(await held).toBe('ok');
    expect(await waiting).toBe('ok');
    await hubTracing.shutdown();
    const spans = receiver.spans.filter((s) => s.service === 'hub' && s.name === 'GET');
    const queued = spans.find((s) => s.attributes['url.path'] === '/queued');
    const first = spans.find((s) => s.attributes['url.path'] === '/hold');
    const waited = Number(queued?.attributes['slime.queue_wait_ms']);
    // at least the time the test watched it wait (ms clock: 2 ms of rounding), and within dispatch_ms
    expect(waited).toBeGreaterThanOrEqual(releasedAt - queuedBy - 2);
    expect(waited).toBeLessThanOrEqual(Number(queued?.attributes['slime.dispatch_ms']));
    expect(Number(first?.attributes['slime.queue_wait_ms'])).toBeLessThanOrEqual(waited);
  });

  it('a hub error ends the request span with an error status', async () => {
    await using receiver = await startOtlpReceiver();
    const tracing = await createOtlpTracing({ url: `${receiver.url}/v1/traces`, serviceName: 'hub' });
    const log = captureLog('info');
    await using hub = await startHub({ tracer: tracing.tracer, logger: log.logger });
    const r = await request(`${hub.url}/nobody-home`);
    expect(r.statusCode).toBe(503);
    await r.body.text();
    await vi.waitFor(() => expect(log.lines.some((l) => l.msg === 'request')).toBe(true));
    await tracing.shutdown();
    expect(receiver.spans.find((s) => s.name === 'GET')).toMatchObject({
      attributes: { 'http.response.status_code': 503, 'slime.outcome': 'ERR_HUB_NO_AGENT' },
      status: { code: 2 },
    });
  });
});
