import { describe, expect, it } from 'vitest';
import { startAgent, startHub, startUpstream } from './helpers/harness.js';

const NVIDIA_SMI = [
  'NVIDIA H100 80GB HBM3, 81559, GPU-4a1f0c2e-1111-2222-3333-444455556666',
  'NVIDIA H100 80GB HBM3, 81559, GPU-4a1f0c2e-1111-2222-3333-777788889999',
].join('\n');

describe('--report-hardware end to end', () => {
  it("shows the agent's GPUs in the hub's agent list", async () => {
    await using up = await startUpstream((_req, res) => void res.writeHead(200).end('ok'));
    await using hub = await startHub();
    await using _a = await startAgent(hub, up, {
      name: 'gpu-box',
      reportHardware: true,
      gpuQuery: async () => `${NVIDIA_SMI}\n`,
    });
    const hw = hub.hub.agents()[0]?.hardware as Record<string, unknown>;
    expect(hw).toMatchObject({
      cpus: expect.any(Number),
      memoryBytes: expect.any(Number),
      gpuSource: 'nvidia-smi',
      gpus: [
        { name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559, uuid: 'GPU-4a1f0c2e-1111-2222-3333-444455556666' },
        { name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559, uuid: 'GPU-4a1f0c2e-1111-2222-3333-777788889999' },
      ],
    });
  });

  it('reports no GPU when nvidia-smi is absent or broken, and still connects', async () => {
    await using up = await startUpstream((_req, res) => void res.writeHead(200).end('ok'));
    await using hub = await startHub();
    await using _absent = await startAgent(hub, up, {
      name: 'cpu-box',
      reportHardware: true,
      gpuQuery: () => Promise.reject(Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' })),
    });
    await using _broken = await startAgent(hub, up, {
      name: 'broken-driver',
      reportHardware: true,
      gpuQuery: () => Promise.reject(Object.assign(new Error('Command failed'), { code: 9 })),
    });
    const byName = (name: string) => hub.hub.agents().find((a) => a.name === name)?.hardware;
    expect(byName('cpu-box')).toMatchObject({ gpus: [], gpuSource: 'none' });
    expect(byName('cpu-box')).not.toHaveProperty('gpuError');
    expect(byName('broken-driver')).toMatchObject({
      gpus: [],
      gpuSource: 'none',
      gpuError: 'nvidia-smi exited with code 9',
    });
  });

  it('sends no hardware without --report-hardware, and never runs the query', async () => {
    await using up = await startUpstream((_req, res) => void res.writeHead(200).end('ok'));
    await using hub = await startHub();
    let ran = 0;
    await using _a = await startAgent(hub, up, {
      reportHardware: false,
      gpuQuery: async () => {
        ran++;
        return '';
      },
    });
    expect(hub.hub.agents()[0]?.hardware).toBeNull();
    expect(ran).toBe(0);
  });
});
