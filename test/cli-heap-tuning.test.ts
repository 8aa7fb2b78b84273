import { afterEach, describe, expect, it } from 'vitest';
import { killAll, spawnCli } from '../packages/cli/test/spawn-cli.js';

// bin.ts sets V8's old-generation growing factor before the hub or agent starts (heap-tuning.ts
// says why); the processes say so in their first lines, and an operator's own choice wins.
describe('the CLI process sets the V8 heap growing factor', () => {
  afterEach(killAll);

  it('hub run and agent run start with a growing factor of 4', async () => {
    const hub = spawnCli(['hub', 'run', '--port', '0', '--secret', 's']);
    const line = await hub.waitForLog((l) => l.msg === 'v8 heap growing factor set');
    expect(line.flag).toBe('--heap-growing-percent=300');
    await hub.waitForLog((l) => l.msg === 'hub listening');

    const agent = spawnCli('agent run --token t --hub http://127.0.0.1:9 --upstream 127.0.0.1:9'.split(' '));
    const agentLine = await agent.waitForLog((l) => l.msg === 'v8 heap growing factor set');
    expect(agentLine.flag).toBe('--heap-growing-percent=300');
  });

  it("leaves a factor given on node's command line alone", async () => {
    const hub = spawnCli(
      ['hub', 'run', '--port', '0', '--secret', 's'],
      {},
      { nodeArgs: ['--heap-growing-percent=150'] },
    );
    await hub.waitForLog((l) => l.msg === 'v8 heap growing factor: as given on the command line');
    await hub.waitForLog((l) => l.msg === 'hub listening');
    expect(hub.stdout()).not.toContain('v8 heap growing factor set');
  });
});
