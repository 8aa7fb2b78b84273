import { afterEach, describe, expect, it } from 'vitest';
import { hubOptionsFrom } from '../src/commands/hub-run.js';
import type { CliContext } from '../src/context.js';
import { HUB_RUN_OPTIONS } from '../src/option-specs.js';
import { main } from '../src/program.js';
import { Settings } from '../src/settings.js';
import { killAll, register, runCli, startAgent, startHub } from './spawn-cli.js';
import { startTestUpstream } from './test-upstream.js';

const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  await killAll();
  for (const close of closers.splice(0)) await close();
});

function capture(env: Record<string, string> = {}) {
  const err: string[] = [];
  const out: string[] = [];
  const ctx: CliContext = {
    env,
    home: '/nonexistent-slime-home',
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    exit: () => {},
  };
  return { ctx, stdout: () => out.join(''), stderr: () => err.join('') };
}

describe('--xff', () => {
  it('maps append and overwrite, from the flag or env XFF; absent means the hub default', () => {
    const from = (flags: Record<string, unknown>, env: Record<string, string> = {}) =>
      hubOptionsFrom(new Settings(HUB_RUN_OPTIONS, { flags: { secret: 's', ...flags }, env }));
    expect(from({ xff: 'overwrite' }).xff).toBe('overwrite');
    expect(from({ xff: 'append' }).xff).toBe('append');
    expect(from({}, { XFF: 'overwrite' }).xff).toBe('overwrite');
    expect(from({ xff: 'append' }, { XFF: 'overwrite' }).xff).toBe('append');
    expect(from({})).not.toHaveProperty('xff');
  });

  it.each([
    [['--xff', 'bogus'], {}, 'slime: invalid --xff "bogus": expected append or overwrite\n'],
    [['--xff', 'Overwrite'], {}, 'slime: invalid --xff "Overwrite": expected append or overwrite\n'],
    [[], { XFF: 'bogus' }, 'slime: invalid env XFF "bogus": expected append or overwrite\n'],
  ])('%j %j -> exit 2 and one line (in process)', async (args, env, message) => {
    const io = capture(env);
    const code = await main(['hub', 'run', '--secret', 's', '--port', '0', ...args], io.ctx);
    expect(code).toBe(2);
    expect(io.stdout()).toBe('');
    expect(io.stderr()).toBe(message);
  });

  it('slime hub run --xff bogus exits 2 with one clear line (the real binary)', async () => {
    const r = await runCli([
      'hub',
      'run',
      '--secret',
      's',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--xff',
      'bogus',
    ]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('slime: invalid --xff "bogus": expected append or overwrite\n');
  });

  it('--xff overwrite end to end: the upstream sees only the peer, not the client-sent value', async () => {
    const up = await startTestUpstream();
    closers.push(up.close);
    const token = await register(['--secret', 's3cret', '--name', 'gpu-1']);
    const hub = await startHub(['--secret', 's3cret', '--xff', 'overwrite']);
    await startAgent(['--token', token, '--hub', hub.url, '--upstream', up.hostPort]);
    const headers = { 'x-forwarded-for': '203.0.113.9', 'slime-block': '1' };
    const res = await fetch(`${hub.url}/who`, { headers });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(up.seen.at(-1)?.headers['x-forwarded-for']).toBe('127.0.0.1');
  });
});
