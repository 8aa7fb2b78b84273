import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, register, startAgent, startHub } from '../packages/cli/test/spawn-cli.js';
import { startTestUpstream } from '../packages/cli/test/test-upstream.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await killAll();
  for (const close of closers.splice(0)) await close();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'slime-ops-signals-'));
  closers.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const codeOf = async (url: string) => ((await (await fetch(url)).json()) as { code: string }).code;

describe('SIGHUP', () => {
  it('re-reads the policy file without exiting; a bad file is refused and the old policy stays', async () => {
    const dir = tempDir();
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, 'access: []\n');
    const hub = await startHub(['--secret', 's', '--policy', policy]);
    // no agent: an allowed request gets 503, a denied one 403
    expect(await codeOf(`${hub.url}/x`)).toBe('ERR_HUB_NO_AGENT');

    writeFileSync(policy, 'access:\n  - action: deny\n    match: { path: /x }\n');
    hub.proc.child.kill('SIGHUP');
    await hub.proc.waitForLog((l) => l.msg === 'SIGHUP: policy reloaded');
    expect(await codeOf(`${hub.url}/x`)).toBe('ERR_HUB_FORBIDDEN');
    expect(await codeOf(`${hub.url}/y`)).toBe('ERR_HUB_NO_AGENT');

    writeFileSync(policy, 'access:\n  - action: maybe\n');
    hub.proc.child.kill('SIGHUP');
    const rejected = await hub.proc.waitForLog(
      (l) => l.msg === 'SIGHUP: policy file rejected; the previous policy stays in force',
    );
    expect(String(rejected.errors)).toMatch(/access\[0\]\.action/);
    expect(await codeOf(`${hub.url}/x`)).toBe('ERR_HUB_FORBIDDEN');

    // still the same process, and it still drains on SIGTERM
    expect(hub.proc.child.exitCode).toBeNull();
    hub.proc.child.kill('SIGTERM');
    expect(await hub.proc.exited).toBe(0);
  });

  it('without a policy file the hub says so; the agent ignores SIGHUP and keeps serving', async () => {
    const up = await startTestUpstream();
    closers.push(up.close);
    const token = await register(['--secret', 's', '--name', 'n']);
    const hub = await startHub(['--secret', 's']);
    const agent = await startAgent(['--token', token, '--hub', hub.url, '--upstream', up.hostPort]);
    hub.proc.child.kill('SIGHUP');
    agent.child.kill('SIGHUP');
    await hub.proc.waitForLog((l) => String(l.msg).startsWith('SIGHUP: no policy file to reload'));
    await agent.waitForLog((l) => l.msg === 'SIGHUP: nothing to reload here; still running');
    const res = await fetch(`${hub.url}/after-hup`, { headers: { 'slime-block': '1' } });
    expect(res.status).toBe(200);
    await res.text();
    expect(hub.proc.child.exitCode).toBeNull();
    expect(agent.child.exitCode).toBeNull();
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
  });
});

describe('SIGTERM', () => {
  it('turns /readyz to 503 as soon as the drain starts, while in-flight requests finish', async () => {
    const up = await startTestUpstream();
    closers.push(up.close);
    const token = await register(['--secret', 's', '--name', 'n']);
    const hub = await startHub(['--secret', 's', '--admin-port', '0', '--admin-token', 'adm']);
    const line = await hub.proc.waitForLog((l) => l.msg === 'admin API listening');
    const admin = `http://127.0.0.1:${(line.admin as { port: number }).port}`;
    await startAgent(['--token', token, '--hub', hub.url, '--upstream', up.hostPort]);
    expect((await fetch(`${admin}/readyz`)).status).toBe(200);
    const pending = fetch(`${hub.url}/hold`, { headers: { 'slime-block': '1' } });
    await up.nextHeld();
    hub.proc.child.kill('SIGTERM');
    await hub.proc.waitForLog((l) => l.msg === 'hub draining');
    expect((await fetch(`${admin}/readyz`)).status).toBe(503);
    up.release('done');
    expect(await (await pending).text()).toBe('done');
    expect(await hub.proc.exited).toBe(0);
  });
});

describe('a closed stdout', () => {
  it('never stops a SIGTERM drain: the hub exits 0 after its log reader went away', async () => {
    const up = await startTestUpstream();
    closers.push(up.close);
    const token = await register(['--secret', 's', '--name', 'n']);
    const hub = await startHub(['--secret', 's', '--log-level', 'debug']);
    await startAgent(['--token', token, '--hub', hub.url, '--upstream', up.hostPort]);
    const pending = fetch(`${hub.url}/hold`, { headers: { 'slime-block': '1' } });
    await up.nextHeld();
    // `slime hub run | head -1`: the reader of stdout is gone
    hub.proc.child.stdout?.destroy();
    hub.proc.child.kill('SIGTERM');
    up.release('finished with stdout closed');
    const res = await pending;
    expect(await res.text()).toBe('finished with stdout closed');
    expect(await hub.proc.exited).toBe(0);
    expect(hub.proc.stderr()).toMatch(/^slime: stdout is closed \(EPIPE\); logs are dropped from now on$/m);
  });

  it('the agent too', async () => {
    const up = await startTestUpstream();
    closers.push(up.close);
    const token = await register(['--secret', 's', '--name', 'n']);
    const hub = await startHub(['--secret', 's']);
    const agent = await startAgent([
      '--token',
      token,
      '--hub',
      hub.url,
      '--upstream',
      up.hostPort,
      '--log-level',
      'debug',
    ]);
    agent.child.stdout?.destroy();
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
  });
});
