import { once } from 'node:events';
import { connect } from 'node:net';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { SECRET, startAgent, startHub, startUpstream } from '../../../test/helpers/harness.js';
import { type HubConfig, resolveHubConfig } from '../src/config.js';
import { createHub } from '../src/create-hub.js';
import type { HubError } from '../src/errors.js';

const base = { secret: SECRET, host: '127.0.0.1', port: 0, metrics: { defaultMetrics: false } };

function optionOf(config: Partial<HubConfig>): { code: string; option: string | undefined; message: string } {
  try {
    createHub({ ...base, ...config } as HubConfig).destroy();
  } catch (err) {
    const e = err as HubError;
    return { code: e.code, option: e.option, message: e.message };
  }
  throw new Error('no error');
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('createHub: one config, checked up front', () => {
  it.each([
    [{ maxQueue: 0 }, 'maxQueue', 'maxQueue must be >= 1'],
    [{ port: 70_000 }, 'port', 'port must be <= 65535'],
    [{ secret: '' }, 'secret', 'secret must be a non-empty string'],
    [{ random: 5 as never }, 'random', 'random must be a function'],
    [{ trustedProxies: ['not-an-ip'] }, 'trustedProxies', 'not-an-ip'],
    [{ outlierDetection: { consecutive5xx: -1 } }, 'outlierDetection.consecutive5xx', 'consecutive5xx'],
    [{ admin: { token: '' } }, 'admin.token', 'admin.token must be a non-empty string'],
    [{ admin: { token: 't', port: 70_000 } }, 'admin.port', 'admin.port must be between 0 and 65535'],
    [{ cluster: { redis: 'http://x' } }, 'cluster.redis', 'cluster.redis must be a redis://'],
    [{ cluster: { redis: 'redis://x', timeoutMs: 50_000 } }, 'cluster.timeoutMs', 'between 1 and 10000'],
    [{ cluster: { redis: 'redis://x', failMode: 'maybe' as never } }, 'cluster.failMode', 'fail-open'],
    [{ hooks: { onAgentRefused: 'x' as never } }, 'hooks.onAgentRefused', 'must be a function'],
  ] as [Partial<HubConfig>, string, string][])(
    '%o: ERR_HUB_INVALID_OPTION naming %s',
    (config, option, words) => {
      const e = optionOf(config);
      expect(e).toMatchObject({ code: 'ERR_HUB_INVALID_OPTION', option });
      expect(e.message).toContain(words);
    },
  );

  it('a bad policy is ERR_HUB_INVALID_POLICY listing every problem, sections included', () => {
    const policy = { access: [{ action: 'nope' }], shaping: { groups: 'x' }, router: [{ to: 5 }] };
    let err: HubError | undefined;
    try {
      createHub({ ...base, policy });
    } catch (e) {
      err = e as HubError;
    }
    expect(err?.code).toBe('ERR_HUB_INVALID_POLICY');
    expect(err?.details.length).toBeGreaterThanOrEqual(3);
    expect(err?.details.join('\n')).toMatch(/access/);
    expect(err?.details.join('\n')).toMatch(/shaping/);
    expect(err?.details.join('\n')).toMatch(/router/);
  });

  it('the resolved config is frozen, with the defaults the assembly uses', () => {
    const config = resolveHubConfig({ ...base, admin: { token: 't' } });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.admin)).toBe(true);
    expect(config.admin).toEqual({ token: 't', host: '127.0.0.1', port: 8081, requireAgent: false });
    expect(config.cluster).toMatchObject({ redis: undefined, keyPrefix: 'slime:', failMode: 'fail-open' });
    // copies: the caller's objects stay its own
    const proxies = ['10.0.0.0/8'];
    const copied = resolveHubConfig({ ...base, trustedProxies: proxies });
    proxies.push('0.0.0.0/0');
    expect(copied.trustedProxies).toEqual(['10.0.0.0/8']);
    expect(Object.isFrozen(copied.trustedProxies)).toBe(true);
  });
});

describe('createHub: the assembled hub', () => {
  it('serves the policy, the admin port and its metrics; close() releases them all, engine last but one', async () => {
    const hub = createHub({
      ...base,
      policy: { access: [{ action: 'deny', match: { path: '/no' } }] },
      admin: { token: 'adm', port: 0 },
    });
    const engineClose = vi.spyOn(hub.engine, 'close');
    const { url, port } = await hub.listen();
    const admin = hub.adminAddress!;
    const denied = await request(`${url}/no`);
    expect(denied.statusCode).toBe(403);
    await denied.body.dump();
    const metrics = await request(`${admin.url}/metrics`, { headers: { authorization: 'Bearer adm' } });
    expect(await metrics.body.text()).toMatch(/slime_requests_total\{[^}]*status_class="4xx"[^}]*\} 1/);
    const policy = await request(`${admin.url}/policy`, { headers: { authorization: 'Bearer adm' } });
    expect(policy.statusCode).toBe(200);
    await policy.body.dump();
    await hub.close();
    expect(engineClose).toHaveBeenCalledTimes(1);
    expect(await accepts(port)).toBe(false);
    expect(await accepts(admin.port)).toBe(false);
    // idempotent: the same promise
    expect(hub.close()).toBe(hub.close());
  });

  it('destroy() drops the server and the admin port at once; close() afterwards waits for the release', async () => {
    const hub = createHub({ ...base, admin: { token: 'adm', port: 0 } });
    const engineClose = vi.spyOn(hub.engine, 'close');
    const { port } = await hub.listen();
    const adminPort = hub.adminAddress!.port;
    hub.destroy();
    await hub.close();
    expect(engineClose).toHaveBeenCalledTimes(1);
    expect(await accepts(port)).toBe(false);
    expect(await accepts(adminPort)).toBe(false);
  });

  it('a taken admin port fails listen() and releases the server it had started', async () => {
    await using first = await startHub({ admin: { token: 'adm', port: 0 } });
    const taken = first.hub.adminAddress!.port;
    const hub = createHub({ ...base, admin: { token: 'adm', port: taken } });
    await expect(hub.listen()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    // the server had listened (so the caller knows the admin port failed) and is closed again
    expect(hub.address).not.toBeNull();
    expect(await accepts(hub.address!.port)).toBe(false);
  });

  it('trustedProxies is live: behind a trusted proxy, access rules see the forwarded client', async () => {
    await using upstream = await startUpstream((_req, res) => res.end('ok'));
    await using hub = await startHub({
      trustedProxies: ['127.0.0.1'],
      policy: { access: [{ action: 'deny', match: { ip: '203.0.113.7' } }] },
    });
    await using _agent = await startAgent(hub, upstream);
    const forwarded = await request(`${hub.url}/x`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    expect(forwarded.statusCode).toBe(403);
    await forwarded.body.dump();
    const other = await request(`${hub.url}/x`, { headers: { 'x-forwarded-for': '198.51.100.1' } });
    expect(other.statusCode).toBe(200);
    await other.body.dump();
  });

  it('hooks observe after the hub’s own metrics', async () => {
    const refused: string[] = [];
    await using hub = await startHub({ hooks: { onAgentRefused: (r) => refused.push(r) } });
    // an agent without a token: refused at the upgrade
    const ws = new WebSocket(`${hub.url.replace('http', 'ws')}/_slime/agent`);
    const [req, res] = (await once(ws, 'unexpected-response')) as [
      { destroy(): void },
      { statusCode: number; resume(): void },
    ];
    expect(res.statusCode).toBe(401);
    res.resume();
    req.destroy();
    await vi.waitFor(() => expect(refused).toEqual(['missing']));
    expect(await hub.hub.metrics.metrics()).toMatch(
      /slime_agent_connections_total\{event="refused",reason="missing"\} 1/,
    );
  });
});
