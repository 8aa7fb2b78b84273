import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  killAll,
  register,
  runCli,
  startAgent,
  startHub,
  upgradeStatus,
} from '../packages/cli/test/spawn-cli.js';
import { startTestUpstream } from '../packages/cli/test/test-upstream.js';
import { startRedis } from './helpers/redis.js';

const closers: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  await killAll();
  for (const close of closers.splice(0).reverse()) await close();
});

const jtiOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string }).jti;

async function adminOf(hub: Awaited<ReturnType<typeof startHub>>) {
  const line = await hub.proc.waitForLog((l) => l.msg === 'admin API listening');
  return `http://127.0.0.1:${(line.admin as { port: number }).port}`;
}

const auth = { authorization: 'Bearer adm' };

describe('slime hub run --redis and slime hub revoke', () => {
  it('two CLI hubs share the policy and the counters; a revocation drops the agent on both', async () => {
    const redis = await startRedis();
    closers.push(() => redis[Symbol.asyncDispose]());
    const up = await startTestUpstream();
    closers.push(up.close);
    const args = ['--secret', 's3cret', '--admin-port', '0', '--admin-token', 'adm', '--redis', redis.url];
    const a = await startHub(args);
    const b = await startHub([], {
      SECRET: 's3cret',
      ADMIN_PORT: '0',
      ADMIN_TOKEN: 'adm',
      REDIS_URL: redis.url,
    });
    const [adminA, adminB] = [await adminOf(a), await adminOf(b)];
    const token = await register(['--secret', 's3cret', '--name', 'gpu-1']);
    const agents = [
      await startAgent(['--token', token, '--hub', a.url, '--upstream', up.hostPort]),
      await startAgent(['--token', token, '--hub', b.url, '--upstream', up.hostPort]),
    ];

    const put = await fetch(`${adminA}/policy`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ ratelimits: [{ name: 'global', limit: 2, window: '1m' }] }),
    });
    expect(put.status).toBe(200);
    await vi.waitFor(
      async () => {
        const doc = (await (await fetch(`${adminB}/policy`, { headers: auth })).json()) as {
          ratelimits?: unknown[];
        };
        expect(doc.ratelimits).toHaveLength(1);
      },
      { timeout: 1000, interval: 20 },
    );
    const statuses = [];
    for (const url of [a.url, b.url, a.url, b.url]) {
      const res = await fetch(`${url}/x`, { headers: { 'slime-block': '1' } });
      await res.text();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 429, 429]);

    const revoked = await runCli(['hub', 'revoke', '--jti', jtiOf(token), '--redis', redis.url]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/revoked jti/);
    // both agents are closed, reconnect, are refused with 401 and stop (exit 1)
    expect(await Promise.all(agents.map((p) => p.exited))).toEqual([1, 1]);
    expect(await upgradeStatus(a.url, token)).toBe(401);
    expect(await upgradeStatus(b.url, token)).toBe(401);
    const metrics = await (await fetch(`${adminB}/metrics`, { headers: auth })).text();
    expect(metrics).toMatch(/^slime_agents_revoked_disconnected_total 1$/m);
    expect(metrics).toMatch(/^slime_policy_sync_total\{event="applied"\} 1$/m);
  });

  it('without Redis, revoke writes the local deny list and the hub follows it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slime-cli-revoke-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'revoked.json');
    const up = await startTestUpstream();
    closers.push(up.close);
    const hub = await startHub(['--secret', 's3cret', '--revocations-file', file]);
    const token = await register(['--secret', 's3cret', '--name', 'gpu-2']);
    const agent = await startAgent(['--token', token, '--hub', hub.url, '--upstream', up.hostPort]);
    const r = await runCli(['hub', 'revoke', '--agent', 'gpu-2'], { REVOCATIONS_FILE: file });
    expect(r.code).toBe(0);
    expect(await agent.exited).toBe(1);
    expect(await upgradeStatus(hub.url, token)).toBe(401);
    await hub.proc.waitForLog((l) => l.msg === 'agent disconnected' && l.code === 4005);
  });

  it('a hub whose Redis is unreachable still starts, and answers by its fail mode', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slime-cli-redis-down-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    const policy = join(dir, 'policy.json');
    writeFileSync(policy, JSON.stringify({ ratelimits: [{ name: 'global', limit: 100 }] }));
    const args = ['--secret', 's3cret', '--policy', policy, '--redis', 'redis://127.0.0.1:1'];
    const open = await startHub(args);
    const closed = await startHub([...args, '--redis-fail-mode', 'fail-closed']);
    await open.proc.waitForLog(
      (l) => l.msg === 'redis not reachable yet; starting with the local policy and fail mode',
    );
    const codeOf = async (url: string) => ((await (await fetch(`${url}/x`)).json()) as { code: string }).code;
    // fail-open lets the request through the limit (then there is no agent); fail-closed stops it there
    expect(await codeOf(open.url)).toBe('ERR_HUB_NO_AGENT');
    expect(await codeOf(closed.url)).toBe('ERR_HUB_OVERLOADED');
  });

  it('bad input: one clear line and exit 2', async () => {
    // independent processes: started together so the case costs one CLI start, not six
    const [neither, both, badUrl, badMode, slow, unreachable] = await Promise.all([
      runCli(['hub', 'revoke']),
      runCli(['hub', 'revoke', '--jti', 'a', '--agent', 'b']),
      runCli(['hub', 'revoke', '--jti', 'a', '--redis', 'http://x']),
      runCli(['hub', 'run', '--secret', 's', '--port', '0', '--redis-fail-mode', 'maybe']),
      runCli(['hub', 'run', '--secret', 's', '--port', '0', '--redis-timeout', '50']),
      runCli(['hub', 'revoke', '--jti', 'a', '--redis', 'redis://127.0.0.1:1']),
    ]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/exactly one of --jti <id> or --agent <name>/);
    expect(both.code).toBe(2);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/invalid --redis "http:\/\/x"/);
    expect(badMode.code).toBe(2);
    expect(badMode.stderr).toMatch(/invalid --redis-fail-mode "maybe"/);
    expect(slow.code).toBe(2);
    expect(slow.stderr).toMatch(/invalid --redis-timeout: must be between 1ms and 10s/);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot reach redis/);
  });
});
