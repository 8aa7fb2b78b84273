import { afterEach, describe, expect, it } from 'vitest';
import { killAll, register, runCli, startAgent, startHub } from '../packages/cli/test/spawn-cli.js';
import { startTestUpstream } from '../packages/cli/test/test-upstream.js';

const closers: (() => Promise<void>)[] = [];
// An agent logs "connected" before the hub has counted its worker slots; Slime-Block makes a
// request wait for the slot instead of racing it into a 503.
const BLOCK = { headers: { 'slime-block': '1' } };

afterEach(async () => {
  await killAll();
  for (const close of closers.splice(0)) await close();
});

async function upstream(label?: string) {
  const u = await startTestUpstream(label);
  closers.push(u.close);
  return u;
}

describe('slime CLI end to end', () => {
  it('register -> hub run -> agent run -> a request is proxied', async () => {
    const up = await upstream();
    const token = await register(['--secret', 's3cret', '--name', 'gpu-1']);
    const hub = await startHub(['--secret', 's3cret']);
    await startAgent(['--token', token, '--hub', hub.url, '--upstream', up.hostPort]);
    const res = await fetch(`${hub.url}/v1/things?x=1`, BLOCK);
    expect(res.status).toBe(200);
    expect(res.headers.get('slime-agent-id')).toMatch(/^gpu-1/);
    expect(await res.json()).toEqual({ label: 'upstream', path: '/v1/things', method: 'GET' });
  });

  it('works from env vars alone, with Go spellings, two upstreams in UPSTREAM with comma and space', async () => {
    const a = await upstream('a');
    const b = await upstream('b');
    // no secret anywhere: register fails, so nothing ambient (HOME, env) leaks into these processes
    expect((await runCli(['hub', 'register'], { NAME: 'x' })).code).toBe(2);
    const minted = await runCli(['hub', 'register'], {
      SECRET: 'env-secret',
      NAME: 'env-agent',
      SCOPES: 'tier1',
    });
    expect(minted.code).toBe(0);
    const hub = await startHub([], { SECRET: 'env-secret', APPPASSWORD: 'pw' });
    // HUB as a ws:// URL, UPSTREAM with both separators the Go version could not take
    const agent = await startAgent(
      [],
      {
        TOKEN: minted.stdout.trim(),
        HUB: hub.url.replace('http://', 'ws://'),
        UPSTREAM: `${a.hostPort}, ${b.hostPort}`,
        NUMWORKER: '2',
        AGENTID: 'envy',
      },
      2,
    );
    expect(agent.stdout()).toContain('"agentId":"envy-1"');
    expect(agent.stdout()).toContain('"agentId":"envy-2"');
    const res = await fetch(`${hub.url}/ping`, {
      headers: { 'slime-app-password': 'pw', 'slime-scope': 'tier1', 'slime-block': '1' },
    });
    expect(res.status).toBe(200);
    expect(['a', 'b']).toContain(((await res.json()) as { label: string }).label);
    expect((await fetch(`${hub.url}/ping`)).status).toBe(401);
  });

  it('app password: missing or wrong is 401, right is 200; Slime-* headers do not reach the upstream', async () => {
    const up = await upstream();
    const token = await register(['--secret', 's', '--name', 'n']);
    const hub = await startHub(['--secret', 's', '--appPassword', 'open sesame']);
    await startAgent(['--token', token, '--hub', hub.url, '--upstream', up.url]);
    expect((await fetch(`${hub.url}/x`)).status).toBe(401);
    expect((await fetch(`${hub.url}/x`, { headers: { 'slime-app-password': 'open' } })).status).toBe(401);
    const ok = await fetch(`${hub.url}/x`, {
      headers: { 'slime-app-password': 'open sesame', 'slime-block': '1' },
    });
    expect(ok.status).toBe(200);
    expect(up.seen.at(-1)?.headers['slime-app-password']).toBeUndefined();
  });

  it('Slime-Scope picks agents by token scope; scopePaths limit an agent to exact paths', async () => {
    const gpu = await upstream('gpu');
    const cpu = await upstream('cpu');
    const gpuToken = await register(['--secret', 's', '--name', 'gpu', '--scopes', 'gpu']);
    const cpuToken = await register(['--secret', 's', '--name', 'cpu', '--scopePaths', '/only']);
    const hub = await startHub(['--secret', 's']);
    await startAgent(['--token', gpuToken, '--hub', hub.url, '--upstream', gpu.hostPort]);
    await startAgent(['--token', cpuToken, '--hub', hub.url, '--upstream', cpu.hostPort]);

    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${hub.url}/any`, { headers: { 'slime-scope': 'gpu', 'slime-block': '1' } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { label: string }).label).toBe('gpu');
    }
    // no agent carries this scope: 503 at once, not a wait
    const none = await fetch(`${hub.url}/any`, { headers: { 'slime-scope': 'tpu' } });
    expect(none.status).toBe(503);
    // without Slime-Scope any agent may serve, but the cpu agent only its exact path /only
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${hub.url}/other`, BLOCK);
      expect(((await res.json()) as { label: string }).label).toBe('gpu');
    }
    const only = await fetch(`${hub.url}/only`, BLOCK);
    expect(only.status).toBe(200);
    expect(cpu.seen.every((r) => r.path === '/only')).toBe(true);
  });
});
