import { once } from 'node:events';
import { createServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { agentOptionsFrom } from '../packages/cli/src/commands/agent-run.js';
import { AGENT_RUN_OPTIONS } from '../packages/cli/src/option-specs.js';
import { Settings } from '../packages/cli/src/settings.js';
import { startAgent, startHub, startUpstream } from './helpers/harness.js';

// Issue #17: a dead upstream stops taking traffic. The agent marks its upstream unhealthy on the
// first call that cannot connect, withdraws its slots, and offers them again once a probe answers.

/** A port nothing listens on (it was free a moment ago); the upstream may come back on it. */
async function closedPort(): Promise<number> {
  const s = createTcpServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('an agent whose upstream is down', () => {
  it('takes one failure, then withdraws: every later request is served by the healthy agent', async () => {
    const port = await closedPort();
    await using hub = await startHub();
    let deadCalls = 0;
    await using dead = await startAgent(hub, `127.0.0.1:${port}`, {
      name: 'dead',
      numWorker: 2,
      // long enough that the upstream is not probed back during the test
      healthIntervalMs: 60_000,
      onCallResult: () => deadCalls++,
    });
    let refused = 0;
    dead.agent.on('refused', () => refused++);
    const unhealthy = once(dead.agent, 'upstreamUnhealthy');
    // the only agent yet, so the dead one takes it; do not wait for it (a hub may retry it elsewhere)
    const first = request(`${hub.url}/first`);
    const [reason] = (await unhealthy) as [string];
    expect(reason).toBe('upstream refused the connection');
    expect(dead.agent.upstreamHealthy).toBe(false);
    expect(deadCalls).toBe(1);

    await using up = await startUpstream((req, res) => res.end(`live ${req.url}`));
    await using live = await startAgent(hub, up, { name: 'live', numWorker: 2 });
    const statuses: number[] = [];
    const firstRes = await first;
    statuses.push(firstRes.statusCode);
    await firstRes.body.dump();

    for (let i = 0; i < 10; i++) {
      const res = await request(`${hub.url}/seq/${i}`, { headers: { 'slime-block': '1' } });
      statuses.push(res.statusCode);
      if (res.statusCode === 200) {
        expect(await res.body.text()).toBe(`live /seq/${i}`);
        expect(res.headers['slime-agent-id']).toBe(live.agent.hubAgentId);
      } else await res.body.dump();
    }
    // a burst, more than the live agent's slots: they wait for it, none goes to the dead upstream
    const burst = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        request(`${hub.url}/burst/${i}`, { headers: { 'slime-block': '1' } }).then(async (res) => {
          await res.body.dump();
          return res.statusCode;
        }),
      ),
    );
    statuses.push(...burst);
    expect(statuses.filter((s) => s !== 200).length).toBeLessThanOrEqual(1);
    expect(statuses.slice(1).every((s) => s === 200)).toBe(true);
    // nothing more reached the dead agent's upstream call path; whatever the hub still sent it
    // (credits it held before learning of the failure) was handed back
    expect(deadCalls).toBe(1);
    expect(dead.agent.activeRequests).toBe(0);
    expect(dead.agent.upstreamHealthy).toBe(false);
    expect(refused).toBeLessThanOrEqual(2);
  });

  it('is used again once its upstream answers on the same port, within the health interval', async () => {
    const port = await closedPort();
    await using hub = await startHub();
    const intervalMs = 200;
    await using agent = await startAgent(hub, `127.0.0.1:${port}`, {
      healthIntervalMs: intervalMs,
      healthMaxIntervalMs: intervalMs,
    });
    const unhealthy = once(agent.agent, 'upstreamUnhealthy');
    const first = request(`${hub.url}/first`);
    await unhealthy;
    // a few probes fail while it stays down
    await new Promise<void>((resolve) => {
      const onFail = (failures: number) => {
        if (failures < 2) return;
        agent.agent.off('upstreamProbeFailed', onFail);
        resolve();
      };
      agent.agent.on('upstreamProbeFailed', onFail);
    });
    expect(agent.agent.upstreamHealthy).toBe(false);

    const back = createServer((req, res) => res.end(`back ${req.url}`));
    const healthy = once(agent.agent, 'upstreamHealthy');
    back.listen(port, '127.0.0.1');
    await once(back, 'listening');
    try {
      const started = Date.now();
      await healthy;
      // the next probe is at most one interval away (plus scheduling slack)
      expect(Date.now() - started).toBeLessThan(intervalMs + 500);
      expect(agent.agent.upstreamHealthy).toBe(true);
      const res = await request(`${hub.url}/again`, { headers: { 'slime-block': '1' } });
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe('back /again');
      await (await first).body.dump();
    } finally {
      back.closeAllConnections();
      await new Promise<void>((r) => back.close(() => r()));
    }
  });

  it('with --health-path, a 5xx keeps it down and the first non-5xx brings it back', async () => {
    const port = await closedPort();
    await using hub = await startHub();
    await using agent = await startAgent(hub, `127.0.0.1:${port}`, {
      healthPath: '/healthz',
      healthIntervalMs: 30,
      healthMaxIntervalMs: 30,
    });
    const unhealthy = once(agent.agent, 'upstreamUnhealthy');
    const first = request(`${hub.url}/first`);
    await unhealthy;
    let ready = false;
    let probes = 0;
    const back = createServer((req, res) => {
      if (req.url === '/healthz') {
        probes++;
        res.statusCode = ready ? 204 : 503;
        res.end();
        return;
      }
      res.end(`back ${req.url}`);
    });
    back.listen(port, '127.0.0.1');
    await once(back, 'listening');
    try {
      await expect.poll(() => probes).toBeGreaterThanOrEqual(2);
      expect(agent.agent.upstreamHealthy).toBe(false);
      const healthy = once(agent.agent, 'upstreamHealthy');
      ready = true;
      await healthy;
      const res = await request(`${hub.url}/again`, { headers: { 'slime-block': '1' } });
      expect(await res.body.text()).toBe('back /again');
      await (await first).body.dump();
    } finally {
      back.closeAllConnections();
      await new Promise<void>((r) => back.close(() => r()));
    }
  });
});

describe('slime agent run: upstream timeouts and health flags', () => {
  const base = { TOKEN: 't', HUB: 'http://hub:8080', UPSTREAM: 'a:1' };

  it('maps flags and env vars to agent options (durations in ms)', () => {
    const fromFlags = agentOptionsFrom(
      new Settings(AGENT_RUN_OPTIONS, {
        flags: {
          upstreamHeaderTimeout: '30s',
          upstreamBodyTimeout: '5m',
          healthPath: '/healthz',
          healthInterval: '500ms',
        },
        env: base,
      }),
    );
    expect(fromFlags[0]).toMatchObject({
      upstreamHeadersTimeoutMs: 30_000,
      upstreamBodyTimeoutMs: 300_000,
      healthPath: '/healthz',
      healthIntervalMs: 500,
    });
    const fromEnv = agentOptionsFrom(
      new Settings(AGENT_RUN_OPTIONS, {
        flags: {},
        env: {
          ...base,
          UPSTREAM_HEADER_TIMEOUT: '2m',
          UPSTREAM_BODY_TIMEOUT: '90',
          HEALTH_PATH: '/up',
          HEALTH_INTERVAL: '1s',
        },
      }),
    );
    expect(fromEnv[0]).toMatchObject({
      upstreamHeadersTimeoutMs: 120_000,
      upstreamBodyTimeoutMs: 90_000,
      healthPath: '/up',
      healthIntervalMs: 1000,
    });
    // unset: the agent's defaults apply
    const plain = agentOptionsFrom(new Settings(AGENT_RUN_OPTIONS, { flags: {}, env: base }))[0]!;
    for (const key of [
      'upstreamHeadersTimeoutMs',
      'upstreamBodyTimeoutMs',
      'healthPath',
      'healthIntervalMs',
    ]) {
      expect(plain, key).not.toHaveProperty(key);
    }
  });

  it.each([
    [{ UPSTREAM_HEADER_TIMEOUT: 'soon' }, 'invalid env UPSTREAM_HEADER_TIMEOUT "soon": expected a duration'],
    [{ UPSTREAM_BODY_TIMEOUT: '0s' }, 'invalid env UPSTREAM_BODY_TIMEOUT: must be more than 0'],
    [{ HEALTH_INTERVAL: '0' }, 'invalid env HEALTH_INTERVAL: must be more than 0'],
    [{ HEALTH_PATH: 'healthz' }, 'invalid env HEALTH_PATH "healthz": expected a path such as /health'],
    [{ HEALTH_PATH: '/a b' }, 'invalid env HEALTH_PATH "/a b"'],
  ])('%j is refused: %s', (env, message) => {
    expect(() =>
      agentOptionsFrom(new Settings(AGENT_RUN_OPTIONS, { flags: {}, env: { ...base, ...env } })),
    ).toThrow(message);
  });
});
