import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile } from '@slime/hub';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliContext } from '../packages/cli/src/context.js';
import { main } from '../packages/cli/src/program.js';
import { hashAppKey } from '../packages/hub/src/apps/app-keys.js';
import { startAgent, startHub, startUpstream } from './helpers/harness.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function slime(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    env: {},
    home: '/nonexistent-slime-home',
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    exit: () => {},
  };
  const code = await main(args, ctx);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

function tempPolicy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'slime-apps-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'policy.yaml');
}

/** A hub serving the policy file as `slime hub run --policy` would at start. */
async function hubFor(path: string) {
  const upstream = await startUpstream((_req, res) => res.end('ok'));
  const hub = await startHub({ policy: await loadPolicyFile(path) });
  const agent = await startAgent(hub, upstream);
  cleanups.push(
    () => upstream.close(),
    () => hub.hub.close(),
    () => agent.agent.close(),
  );
  return { hub, engine: hub.hub.engine };
}

const status = async (url: string, key: string) =>
  await request(url, { headers: { authorization: `Bearer ${key}` } }).then(async (r) => {
    await r.body.dump();
    return r.statusCode;
  });

describe('slime hub app (policy file)', () => {
  it('add prints a key once and stores only its hash; the hub admits it; rotate and remove', async () => {
    const path = tempPolicy();
    const added = await slime(
      'hub',
      'app',
      'add',
      '--name',
      'chat',
      '--weight',
      '3',
      '--max-priority',
      'high',
      '--policy',
      path,
    );
    expect(added.code).toBe(0);
    const key = added.stdout.trim();
    expect(key).toMatch(/^slime_app_[A-Za-z0-9_-]{43}$/);
    expect(added.stderr).toMatch(/shown only now/);
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain(key);
    expect(text).toContain(hashAppKey(key));

    const listed = await slime('hub', 'app', 'list', '--policy', path, '--json');
    expect(JSON.parse(listed.stdout).apps).toMatchObject([{ name: 'chat', weight: 3, maxPriority: 'high' }]);
    const table = await slime('hub', 'app', 'list', '--policy', path);
    expect(table.stdout).toMatch(
      /^NAME\s+WEIGHT\s+MAX-PRIORITY\s+MAX-QUEUE\s+KEYS\nchat\s+3\s+high\s+-\s+[0-9a-f]{12}\n$/,
    );

    const first = await hubFor(path);
    expect(await status(`${first.hub.url}/x`, key)).toBe(200);

    const rotated = await slime('hub', 'app', 'rotate', '--name', 'chat', '--overlap', '0', '--policy', path);
    expect(rotated.code).toBe(0);
    const second = rotated.stdout.trim();
    expect(readFileSync(path, 'utf8')).not.toContain(hashAppKey(key));
    // what a SIGHUP does: the hub re-reads the file
    first.engine.update(await loadPolicyFile(path));
    expect(await status(`${first.hub.url}/x`, key)).toBe(401);
    expect(await status(`${first.hub.url}/x`, second)).toBe(200);

    expect((await slime('hub', 'app', 'add', '--name', 'chat', '--policy', path)).code).toBe(1);
    const removed = await slime('hub', 'app', 'remove', '--name', 'chat', '--policy', path);
    expect(removed.code).toBe(0);
    first.engine.update(await loadPolicyFile(path));
    expect(await status(`${first.hub.url}/x`, second)).toBe(401);
  });

  it('says what is wrong, in one line, with exit code 2', async () => {
    const path = tempPolicy();
    const noTarget = await slime('hub', 'app', 'add', '--name', 'x');
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toMatch(/^slime: where are the applications\?/);
    const badPriority = await slime(
      'hub',
      'app',
      'add',
      '--name',
      'x',
      '--max-priority',
      'urgent',
      '--policy',
      path,
    );
    expect(badPriority.code).toBe(2);
    expect(badPriority.stderr).toBe('slime: invalid --max-priority "urgent": expected high, normal, low\n');
    const badName = await slime('hub', 'app', 'add', '--name', 'no spaces', '--policy', path);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/apps\[0\]\.name must be/);
  });
});

describe('slime hub app (admin API)', () => {
  it('adds, lists, rotates and removes through a running hub', async () => {
    const { hub } = await startHub({ admin: { token: 'T', port: 0 } });
    cleanups.push(() => hub.close());
    const { engine } = hub;
    const port = hub.adminAddress!.port;
    const at = ['--admin', `http://127.0.0.1:${port}`, '--admin-token', 'T'];
    const added = await slime('hub', 'app', 'add', '--name', 'batch', '--max-queue', '5', ...at);
    expect(added.code).toBe(0);
    const key = added.stdout.trim();
    expect(engine.apps().byKey(key)?.name).toBe('batch');
    expect(engine.apps().settings('batch').maxQueue).toBe(5);
    const listed = await slime('hub', 'app', 'list', ...at);
    expect(listed.stdout).toMatch(/\nbatch\s+1\s+normal\s+5\s+[0-9a-f]{12}\n$/);
    const rotated = await slime('hub', 'app', 'rotate', '--name', 'batch', '--overlap', '1h', ...at);
    expect(rotated.code).toBe(0);
    expect(rotated.stderr).toMatch(/old keys work until /);
    expect(engine.apps().byKey(key)?.name).toBe('batch');
    expect(engine.apps().byKey(rotated.stdout.trim())?.name).toBe('batch');
    expect((await slime('hub', 'app', 'remove', '--name', 'batch', ...at)).code).toBe(0);
    expect(engine.apps().byKey(key)).toBeUndefined();
    const missing = await slime('hub', 'app', 'remove', '--name', 'batch', ...at);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/refused it \(404\): no application named "batch"/);
    const wrongToken = await slime(
      'hub',
      'app',
      'list',
      '--admin',
      `http://127.0.0.1:${port}`,
      '--admin-token',
      'nope',
    );
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toMatch(/refused the token \(401\)/);
  });
});
