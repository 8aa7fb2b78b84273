import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { killAll, register, runCli, startAgent, startHub } from '../packages/cli/test/spawn-cli.js';
import { startTestUpstream } from '../packages/cli/test/test-upstream.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await killAll();
  for (const close of closers.splice(0)) await close();
});

describe('slime hub run with applications (real processes)', () => {
  it('keys from slime hub app add work at once, persist to the state dir, and show in slime hub status', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slime-apps-cli-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    const upstream = await startTestUpstream();
    closers.push(() => upstream.close());
    const hub = await startHub([
      '--secret',
      's',
      '--admin-port',
      '0',
      '--admin-token',
      'adm',
      '--state-dir',
      dir,
    ]);
    const line = await hub.proc.waitForLog((l) => l.msg === 'admin API listening');
    const admin = `http://127.0.0.1:${(line.admin as { port: number }).port}`;
    const token = await register(['--secret', 's', '--name', 'gpu']);
    await startAgent(['--token', token, '--hub', hub.url, '--upstream', upstream.url]);
    const at = ['--admin', admin, '--admin-token', 'adm'];

    const added = await runCli(['hub', 'app', 'add', '--name', 'chat', '--weight', '3', ...at]);
    expect(added.code).toBe(0);
    const key = added.stdout.trim();
    expect(key).toMatch(/^slime_app_/);
    // the state dir's policy file has the hash, never the key
    expect(readFileSync(join(dir, 'policy.yaml'), 'utf8')).not.toContain(key);

    const ok = await fetch(`${hub.url}/hello`, { headers: { authorization: `Bearer ${key}` } });
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    const refused = await fetch(`${hub.url}/hello`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    await refused.arrayBuffer();
    // the access line names the app
    await hub.proc.waitForLog((l) => l.msg === 'request' && l.app === 'chat' && l.status === 200);

    await vi.waitFor(async () => {
      const status = await runCli(['hub', 'status', ...at]);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(/APP\s+WEIGHT\s+INFLIGHT\s+QUEUED\s+SERVED\nchat\s+3\s+0\s+0\s+1\n/);
    }, 20_000);

    const removed = await runCli(['hub', 'app', 'remove', '--name', 'chat', ...at]);
    expect(removed.code).toBe(0);
    await vi.waitFor(async () => {
      const r = await fetch(`${hub.url}/hello`, { headers: { authorization: `Bearer ${key}` } });
      await r.arrayBuffer();
      expect(r.status).toBe(401);
    }, 10_000);
  }, 60_000);
});
