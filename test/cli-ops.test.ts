import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, register, runCli, startAgent, startHub } from '../packages/cli/test/spawn-cli.js';
import { startTestUpstream } from '../packages/cli/test/test-upstream.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await killAll();
  for (const close of closers.splice(0)) await close();
});

describe('slime CLI operations', () => {
  it('hub status prints the agents table; hub and agent serve Prometheus metrics', async () => {
    const up = await startTestUpstream();
    closers.push(up.close);
    const token = await register(['--secret', 's3cret', '--name', 'gpu-1', '--scopes', 'llm']);
    const dir = mkdtempSync(join(tmpdir(), 'slime-cli-ops-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, 'shaping:\n  groups:\n    - limiter: { mode: fixed, limit: 5 }\n');
    const hub = await startHub([
      '--secret',
      's3cret',
      '--policy',
      policy,
      '--admin-port',
      '0',
      '--admin-token',
      'adm',
      '--ready-requires-agent',
    ]);
    const adminLine = await hub.proc.waitForLog((l) => l.msg === 'admin API listening');
    const admin = `http://127.0.0.1:${(adminLine.admin as { port: number }).port}`;
    // not ready while no agent is connected
    expect((await fetch(`${admin}/readyz`)).status).toBe(503);
    const agent = await startAgent([
      '--token',
      token,
      '--hub',
      hub.url,
      '--upstream',
      up.hostPort,
      '--numWorker',
      '3',
      '--metrics-port',
      '0',
    ]);
    const metricsLine = await agent.waitForLog((l) => l.msg === 'agent metrics listening');
    expect((await fetch(`${admin}/readyz`)).status).toBe(200);
    const res = await fetch(`${hub.url}/x`, { headers: { 'slime-block': '1' } });
    expect(res.status).toBe(200);
    await res.text();

    const status = await runCli(['hub', 'status', '--admin', admin, '--admin-token', 'adm']);
    expect(status.code).toBe(0);
    const [header, row] = status.stdout.split('\n');
    expect(header).toMatch(/^NAME\s+ID\s+SCOPES\s+SLOTS\s+INFLIGHT/);
    expect(row).toMatch(/^gpu-1\s+gpu-1#\d+\s+llm\s+3\s+0\s+ready/);
    expect(status.stdout).toMatch(/agents 1 {2}queue 0 .* 5xx 0\.0%/);
    expect(status.stdout).toMatch(
      /GROUP\s+MODE\s+LIMIT\s+INFLIGHT\s+PACING\s+REFUSED\s+CLIFF\s+HOLD\s+HOLDS\s+RETRIED\s+FAST<\n\*\s+fixed\s+5\s+0\s+normal\s+0\s+-\s+-\s+0\s+0\s+-\n/,
    );

    const refused = await runCli(['hub', 'status', '--admin', admin, '--admin-token', 'wrong']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused the token/);

    const hubMetrics = await (
      await fetch(`${admin}/metrics`, { headers: { authorization: 'Bearer adm' } })
    ).text();
    expect(hubMetrics).toMatch(/slime_requests_total\{outcome="ok",status_class="2xx"\} 1/);
    const toAgent = Number(/slime_agent_bytes_total\{direction="to_agent"\} (\d+)/.exec(hubMetrics)?.[1]);
    expect(toAgent).toBeGreaterThan(0);
    // the policy file's shaping section runs in the hub and reports through its metrics
    expect(hubMetrics).toMatch(/slime_shaping_limit\{group="_any"\} 5/);
    expect(hubMetrics).toMatch(/slime_shaping_in_flight\{group="_any"\} 0/);

    const agentMetrics = await (await fetch(`http://127.0.0.1:${metricsLine.port}/metrics`)).text();
    expect(agentMetrics).toMatch(/outcome="ok"/);
  });
});
