import { EventEmitter } from 'node:events';
import { signAgentToken } from '@slime/hub';
import { describe, expect, it } from 'vitest';
import { SECRET, startHub, startUpstream } from '../../../test/helpers/harness.js';
import { createAgent } from '../src/index.js';
import { createAgentMetrics, serveMetrics } from '../src/metrics.js';

/** `name{labels} value` lines of the exposition text, by series. */
function series(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

class FakeAgent extends EventEmitter {
  activeRequests = 0;
}

describe('agent metrics', () => {
  it('counts calls by outcome and status class, latency, active calls and reconnects', async () => {
    const m = createAgentMetrics({ defaultMetrics: false });
    const agent = new FakeAgent();
    const unbind = m.bind(agent);
    agent.emit('connected', 'a#1');
    agent.emit('disconnected', 1006, '');
    agent.emit('connected', 'a#2');
    agent.activeRequests = 2;
    m.callFinished({ outcome: 'ok', status: 200, latencyMs: 12 });
    m.callFinished({ outcome: 'ok', status: 503, latencyMs: 30 });
    m.callFinished({ outcome: 'UPSTREAM_ERROR' });
    m.callFinished({ outcome: 'not a label!' });
    const s = series(await m.metrics());
    expect(s.get('slime_agent_requests_total{outcome="ok",status_class="2xx"}')).toBe(1);
    expect(s.get('slime_agent_requests_total{outcome="ok",status_class="5xx"}')).toBe(1);
    expect(s.get('slime_agent_requests_total{outcome="upstream_error",status_class="none"}')).toBe(1);
    expect(s.get('slime_agent_requests_total{outcome="other",status_class="none"}')).toBe(1);
    expect(s.get('slime_agent_upstream_latency_seconds_count')).toBe(2);
    expect(s.get('slime_agent_upstream_latency_seconds_sum')).toBeCloseTo(0.042);
    expect(s.get('slime_agent_active_calls')).toBe(2);
    expect(s.get('slime_agent_connected')).toBe(1);
    expect(s.get('slime_agent_connects_total')).toBe(2);
    expect(s.get('slime_agent_reconnects_total')).toBe(1);
    expect(s.get('slime_agent_disconnects_total')).toBe(1);
    unbind();
    expect(agent.listenerCount('connected')).toBe(0);
    expect(series(await m.metrics()).get('slime_agent_active_calls')).toBe(0);
  });

  it('counts hubs connected and requests handed back, per hub', async () => {
    const m = createAgentMetrics({ defaultMetrics: false });
    const agent = Object.assign(new FakeAgent(), { connectedHubs: 3 });
    m.bind(agent);
    agent.emit('connected', 'a#1', 'ws://h1/');
    agent.emit('connected', 'a#1', 'ws://h2/');
    agent.emit('disconnected', 1006, '', 'ws://h1/');
    agent.emit('connected', 'a#2', 'ws://h1/');
    agent.emit('refused', 'ws://h2/');
    agent.emit('refused', 'ws://h1/');
    const s = series(await m.metrics());
    expect(s.get('slime_agent_connected')).toBe(3);
    expect(s.get('slime_agent_connects_total')).toBe(3);
    expect(s.get('slime_agent_reconnects_total')).toBe(1);
    expect(s.get('slime_agent_refused_total')).toBe(2);
  });

  it('follows a real agent connecting to and leaving a hub', async () => {
    await using up = await startUpstream((_req, res) => void res.writeHead(200).end('ok'));
    await using h = await startHub();
    const m = createAgentMetrics({ defaultMetrics: false });
    const token = await signAgentToken({ secret: SECRET, name: 'metered' });
    const agent = createAgent({ hub: h.url, upstream: up.url, token });
    m.bind(agent);
    agent.start();
    await agent.ready();
    let s = series(await m.metrics());
    expect(s.get('slime_agent_connected')).toBe(1);
    expect(s.get('slime_agent_connects_total')).toBe(1);
    expect(s.get('slime_agent_reconnects_total')).toBe(0);
    await agent.close();
    s = series(await m.metrics());
    expect(s.get('slime_agent_connected')).toBe(0);
    expect(s.get('slime_agent_disconnects_total')).toBe(1);
  });

  it('serves GET /metrics on its own port, and nothing else', async () => {
    const m = createAgentMetrics();
    await using server = serveMetrics({ port: 0, registry: m.registry });
    const { port, address } = await server.listen();
    expect(address).toBe('127.0.0.1');
    const base = `http://127.0.0.1:${port}`;
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('slime_agent_requests_total');
    expect(text).toContain('process_cpu_user_seconds_total');
    expect((await fetch(`${base}/other`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    await server.close();
    await server.close();
  });

  it('validates its options', () => {
    const m = createAgentMetrics({ defaultMetrics: false });
    expect(() => serveMetrics({ port: -1, registry: m.registry })).toThrow(/port/);
    expect(() => serveMetrics({ port: 0, registry: {} as never })).toThrow(/registry/);
    expect(() => serveMetrics({ port: 0, host: '', registry: m.registry })).toThrow(/host/);
    expect(() => m.bind({} as never)).toThrow(/agent/);
  });
});
