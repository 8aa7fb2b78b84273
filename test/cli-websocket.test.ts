import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, register, startAgent, startHub } from '../packages/cli/test/spawn-cli.js';
import { nextMessage, openWs, startWsUpstream } from './helpers/ws-upstream.js';

afterEach(async () => {
  await killAll();
});

describe('client WebSockets with the real CLI processes', () => {
  it('carries a socket through `slime hub run` and `slime agent run`; a SIGKILLed agent aborts it at once', async () => {
    await using upstream = await startWsUpstream();
    const token = await register(['--secret', 's3cret', '--name', 'ws-agent']);
    const hub = await startHub(['--secret', 's3cret', '--max-upgrades', '4']);
    const agent = await startAgent(['--token', token, '--hub', hub.url, '--upstream', upstream.url]);
    const url = `${hub.url.replace(/^http/, 'ws')}/live`;
    // Slime-Block: the agent logs "connected" before the hub has counted its slots
    const ws = await openWs(url, undefined, { headers: { 'slime-block': '1' } });
    ws.send('through processes');
    expect((await nextMessage(ws)).data.toString()).toBe('through processes');
    const closed = once(ws, 'close');
    const started = performance.now();
    agent.child.kill('SIGKILL');
    const [code] = (await closed) as [number];
    expect(code).toBe(1006);
    expect(performance.now() - started).toBeLessThan(2000);
  }, 60_000);
});
