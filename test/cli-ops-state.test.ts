import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await killAll();
  for (const close of closers.splice(0)) await close();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'slime-ops-state-'));
  closers.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const ADMIN = ['--admin-port', '0', '--admin-token', 'adm'];
const auth = { authorization: 'Bearer adm' };
const DENY_X = { access: [{ action: 'deny', match: { path: '/x' } }] };

async function startHubWithAdmin(args: string[], env: Record<string, string> = {}) {
  const hub = await startHub(['--secret', 's', ...ADMIN, ...args], env);
  const line = await hub.proc.waitForLog((l) => l.msg === 'admin API listening');
  return { ...hub, admin: `http://127.0.0.1:${(line.admin as { port: number }).port}` };
}

const putPolicy = (admin: string, doc: unknown) =>
  fetch(`${admin}/policy`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(doc),
  });

describe('nothing silently lost', () => {
  it('without --policy or --state-dir, admin changes answer "persisted": false with a warning', async () => {
    const hub = await startHubWithAdmin([]);
    await hub.proc.waitForLog((l) =>
      String(l.msg).startsWith('policy changes through the admin API are kept in memory only'),
    );
    const put = await putPolicy(hub.admin, DENY_X);
    expect(put.status).toBe(200);
    expect(put.headers.get('slime-policy-persisted')).toBe('false');
    const body = (await put.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ ...DENY_X, persisted: false });
    expect(body.warning).toMatch(/in memory only.*--policy <file> or --state-dir <dir>/);
    // the answer can be sent back as it is: its response-only members are not policy keys
    const again = await putPolicy(hub.admin, body);
    expect(again.status).toBe(200);
    expect(await (await fetch(`${hub.admin}/policy`, { headers: auth })).json()).toEqual(DENY_X);

    const bloom = await fetch(`${hub.admin}/update/config?type=plugin&name=access&phase=access`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify([]),
    });
    expect(bloom.status).toBe(200);
    expect(bloom.headers.get('slime-policy-persisted')).toBe('false');
    expect(await bloom.json()).toMatchObject({
      persisted: false,
      warning: expect.stringMatching(/memory only/),
    });
  });

  it('--state-dir keeps the policy across a restart; a persisted change says so', async () => {
    const state = join(tempDir(), 'state'); // created by the hub
    const first = await startHubWithAdmin(['--state-dir', state]);
    const put = await putPolicy(first.admin, DENY_X);
    expect(put.status).toBe(200);
    expect(put.headers.get('slime-policy-persisted')).toBe('true');
    expect(await put.json()).toEqual(DENY_X);
    expect(readFileSync(join(state, 'policy.yaml'), 'utf8')).toMatch(/action: deny/);
    first.proc.child.kill('SIGTERM');
    expect(await first.proc.exited).toBe(0);

    const second = await startHubWithAdmin([], { SLIME_STATE_DIR: state });
    expect(await (await fetch(`${second.admin}/policy`, { headers: auth })).json()).toEqual(DENY_X);
    expect((await fetch(`${second.url}/x`)).status).toBe(403);
  });

  it('an unwritable --state-dir is one line and exit 1', async () => {
    const file = join(tempDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    const r = await runCli(['hub', 'run', '--secret', 's', '--port', '0', '--state-dir', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^slime: state dir .*not-a-dir is not writable: /);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('slime hub revoke / unrevoke with a state dir', () => {
  it('revoke writes where the hub reads; --list shows it; unrevoke lets the token in again', async () => {
    const state = tempDir();
    const elsewhere = tempDir(); // the operator's shell is somewhere else entirely
    const up = await startTestUpstream();
    closers.push(up.close);
    const hub = await startHub(['--secret', 's', '--state-dir', state]);
    const token = await register(['--secret', 's', '--name', 'gpu-1']);
    const agent = await startAgent(['--token', token, '--hub', hub.url, '--upstream', up.hostPort]);

    const env = { SLIME_STATE_DIR: state };
    const revoked = await runCli(['hub', 'revoke', '--agent', 'gpu-1'], env, { cwd: elsewhere });
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toBe(`revoked agent gpu-1 in ${join(state, 'revoked.json')}\n`);
    expect(existsSync(join(elsewhere, 'slime-revoked.json'))).toBe(false);
    expect(await agent.exited).toBe(1);
    expect(agent.stderr()).toMatch(/check --token: .*revoked.*\(reason revoked\)$/m);

    await runCli(['hub', 'revoke', '--jti', 'j-1'], env, { cwd: elsewhere });
    const list = await runCli(['hub', 'revoke', '--list'], env, { cwd: elsewhere });
    expect(list.code).toBe(0);
    expect(list.stdout).toBe('agent gpu-1\njti j-1\n');
    expect(list.stderr).toBe(`2 entries in ${join(state, 'revoked.json')}\n`);

    const un = await runCli(['hub', 'unrevoke', '--agent', 'gpu-1'], env, { cwd: elsewhere });
    expect(un.code).toBe(0);
    expect(un.stdout).toBe(`unrevoked agent gpu-1 in ${join(state, 'revoked.json')}\n`);
    // the hub follows the file: the token is accepted again within its poll interval
    await vi.waitFor(async () => expect(await upgradeStatus(hub.url, token)).not.toBe(401), {
      timeout: 5000,
      interval: 100,
    });
    const none = await runCli(['hub', 'unrevoke', '--agent', 'gpu-1'], env, { cwd: elsewhere });
    expect(none.stdout).toMatch(/was not revoked .*nothing changed/);
    expect((await runCli(['hub', 'revoke', '--list'], env)).stdout).toBe('jti j-1\n');
  });

  it('without --state-dir, --revocations-file or --redis, revoke refuses to guess a file', async () => {
    const cwd = tempDir();
    const r = await runCli(['hub', 'revoke', '--jti', 'x'], {}, { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^slime: where does the hub read its deny list\? give --state-dir/);
    expect(existsSync(join(cwd, 'slime-revoked.json'))).toBe(false);
  });
});
