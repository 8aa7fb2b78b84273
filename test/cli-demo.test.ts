import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, spawnCli } from '../packages/cli/test/spawn-cli.js';

afterEach(killAll);

describe('slime demo', () => {
  it('serves echo, slow and SSE endpoints through its own hub and agent, then drains on SIGTERM', async () => {
    const demo = spawnCli(['demo', '--port', '0', '--admin-port', '0']);
    const banner = await demo.waitForLine(/^Slime demo: hub http:\/\/127\.0\.0\.1:\d+ /);
    const base = /(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1];
    expect(base).toBeDefined();
    // the printed curl lines carry the real port
    await demo.waitForLine(/Press Ctrl-C/);
    expect(demo.stdout()).toContain(`curl -s '${base}/slow?ms=2000'`);
    const block = { 'slime-block': '1' };

    const echo = await fetch(`${base}/hello?name=slime`, { method: 'POST', body: 'hi', headers: block });
    expect(echo.status).toBe(200);
    expect(await echo.json()).toMatchObject({
      method: 'POST',
      path: '/hello',
      query: { name: 'slime' },
      body: 'hi',
    });

    const slow = await fetch(`${base}/slow?ms=50`, { headers: block });
    expect(await slow.json()).toEqual({ sleptMs: 50 });

    const events = await fetch(`${base}/events?n=3&interval=10`, { headers: block });
    expect(events.headers.get('content-type')).toBe('text/event-stream');
    const text = await events.text();
    expect(text.match(/^event: tick$/gm)).toHaveLength(3);

    // /fragile is routed to the shaped group: a flood gets fast 503s from the hub, never the
    // upstream's 500s, and with Slime-Block every request is served
    expect(demo.stdout()).toContain(`-H 'Slime-Block: 1' ${base}/fragile | sort | uniq -c`);
    const flood = async (headers: Record<string, string>) => {
      const codes = await Promise.all(
        Array.from({ length: 40 }, async () => {
          const r = await fetch(`${base}/fragile`, { headers });
          await r.arrayBuffer();
          return r.status;
        }),
      );
      const count: Record<number, number> = {};
      for (const c of codes) count[c] = (count[c] ?? 0) + 1;
      return count;
    };
    const open = await flood({});
    expect(Object.keys(open).sort()).toEqual(['200', '503']);
    expect(await flood(block)).toEqual({ 200: 40 });

    // the printed status page URL carries a working one-run token for the admin port
    const page = /open '(http:\/\/127\.0\.0\.1:\d+)\/#token=([\w-]+)'/.exec(demo.stdout());
    expect(page).not.toBeNull();
    const status = await fetch(`${page![1]}/status`, { headers: { authorization: `Bearer ${page![2]}` } });
    expect(status.status).toBe(200);
    expect(((await status.json()) as { agents: Array<{ id: string }> }).agents.map((a) => a.id)).toEqual([
      'demo',
    ]);
    expect((await fetch(`${page![1]}/status`)).status).toBe(401);

    demo.child.kill('SIGTERM');
    expect(await demo.exited).toBe(0);
  });

  it('a taken port exits 1 naming it', async () => {
    const first = spawnCli(['demo', '--port', '0', '--admin-port', '0']);
    const banner = await first.waitForLine(/^Slime demo: hub /);
    const port = /:(\d+) /.exec(banner)?.[1] ?? '';
    const second = spawnCli(['demo', '--port', port, '--admin-port', '0']);
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toBe(`slime: port ${port} is already in use (host 127.0.0.1)\n`);
  });

  it('a taken admin port: the demo runs without its status page, and says so', async () => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const adminPort = String((taken.address() as AddressInfo).port);
      const demo = spawnCli(['demo', '--port', '0', '--admin-port', adminPort]);
      const banner = await demo.waitForLine(/^Slime demo: hub /);
      const base = /(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1];
      await demo.waitForLine(/Press Ctrl-C/);
      expect(demo.stdout()).not.toContain('#token=');
      expect(demo.stdout() + demo.stderr()).toContain('demo admin port not available; no status page');
      const r = await fetch(`${base}/slow?ms=1`, { headers: { 'slime-block': '1' } });
      expect(await r.json()).toEqual({ sleptMs: 1 });
      demo.child.kill('SIGTERM');
      expect(await demo.exited).toBe(0);
    } finally {
      taken.close();
    }
  });
});

describe('installed binary', () => {
  it('npm links node_modules/.bin/slime, which runs the built CLI', async () => {
    const bin = fileURLToPath(new URL('../node_modules/.bin/slime', import.meta.url));
    const version = await new Promise<string>((resolve, reject) => {
      execFile(bin, ['--version'], (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    expect(version).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
