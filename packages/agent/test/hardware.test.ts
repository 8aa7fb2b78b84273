import { Limits } from '@slime/protocol';
import { describe, expect, it } from 'vitest';
import {
  gpuInfo,
  type HardwareReport,
  hardwareReport,
  hardwareText,
  parseNvidiaSmi,
  queryNvidiaSmi,
} from '../src/hardware.js';

const uuid = (i: number) => `GPU-${i}e3a1c2b-8f7d-4c1e-9a2b-3d4e5f6a7b8c`;
const EIGHT_A100 = Array.from({ length: 8 }, (_, i) => `NVIDIA A100-SXM4-80GB, 81920, ${uuid(i)}`).join('\n');

describe('parseNvidiaSmi', () => {
  it('reads one GPU', () => {
    expect(parseNvidiaSmi(`NVIDIA GeForce RTX 4090, 24564, ${uuid(0)}\n`)).toEqual([
      { name: 'NVIDIA GeForce RTX 4090', memoryMiB: 24564, uuid: uuid(0) },
    ]);
  });

  it('reads eight GPUs in order', () => {
    const gpus = parseNvidiaSmi(`${EIGHT_A100}\n`);
    expect(gpus).toHaveLength(8);
    expect(gpus.map((g) => g.uuid)).toEqual(Array.from({ length: 8 }, (_, i) => uuid(i)));
    expect(new Set(gpus.map((g) => `${g.name}/${g.memoryMiB}`))).toEqual(
      new Set(['NVIDIA A100-SXM4-80GB/81920']),
    );
  });

  it('tolerates odd spacing, CRLF, blank lines and a missing memory figure', () => {
    const text = `\n   Tesla T4 ,15360 ,   GPU-abc-1  \r\n\r\nNVIDIA  A100-SXM4-40GB   MIG 1g.5gb, [N/A], MIG-9f1c\r\nQuadro RTX 8000, 48601.0, [N/A]\n`;
    expect(parseNvidiaSmi(text)).toEqual([
      { name: 'Tesla T4', memoryMiB: 15360, uuid: 'GPU-abc-1' },
      { name: 'NVIDIA A100-SXM4-40GB MIG 1g.5gb', memoryMiB: null, uuid: 'MIG-9f1c' },
      { name: 'Quadro RTX 8000', memoryMiB: 48601 },
    ]);
  });

  it('reads the output of a query without the uuid column', () => {
    expect(parseNvidiaSmi('NVIDIA L4, 23034\n')).toEqual([{ name: 'NVIDIA L4', memoryMiB: 23034 }]);
  });

  it('yields no GPU from empty output', () => {
    expect(parseNvidiaSmi('')).toEqual([]);
    expect(parseNvidiaSmi('\n\n')).toEqual([]);
  });

  it('yields no GPU from garbage (driver errors, other tools, binary noise)', () => {
    expect(
      parseNvidiaSmi(
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n",
      ),
    ).toEqual([]);
    expect(parseNvidiaSmi('No devices were found\n')).toEqual([]);
    expect(parseNvidiaSmi('name, memory.total [MiB], uuid\n')).toEqual([]);
    expect(parseNvidiaSmi(', 1024, GPU-1\n\u0000\u0001, 12, GPU-2\nx,y,z\n')).toEqual([]);
    // a good line among garbage still counts
    expect(parseNvidiaSmi(`Warning: persistence mode is off\n${EIGHT_A100.split('\n')[0]}\n`)).toHaveLength(
      1,
    );
  });

  it('cuts absurdly long names', () => {
    const [gpu] = parseNvidiaSmi(`${'X'.repeat(5000)}, 1024, ${uuid(1)}`);
    expect(gpu?.name.length).toBe(128);
  });
});

describe('gpuInfo', () => {
  it('reports the GPUs an injected query lists', async () => {
    expect(await gpuInfo({ gpuQuery: async () => EIGHT_A100 })).toMatchObject({
      gpuSource: 'nvidia-smi',
      gpus: expect.arrayContaining([{ name: 'NVIDIA A100-SXM4-80GB', memoryMiB: 81920, uuid: uuid(7) }]),
    });
  });

  it('reports none, without an error, when nvidia-smi is not installed', async () => {
    const report = await gpuInfo({
      gpuQuery: () => queryNvidiaSmi({ command: 'slime-test-no-such-nvidia-smi' }),
    });
    expect(report).toEqual({ gpus: [], gpuSource: 'none' });
  });

  it('reports none, with the reason, when the command fails', async () => {
    // node refuses nvidia-smi's options and exits 9: a command that exists but fails
    const report = await gpuInfo({ gpuQuery: () => queryNvidiaSmi({ command: process.execPath }) });
    expect(report).toEqual({ gpus: [], gpuSource: 'none', gpuError: 'nvidia-smi exited with code 9' });
  });

  it('gives up on a query that never answers', async () => {
    const started = Date.now();
    const report = await gpuInfo({ gpuQuery: () => new Promise<string>(() => {}), timeoutMs: 50 });
    expect(report).toEqual({ gpus: [], gpuSource: 'none', gpuError: 'GPU query timed out after 50 ms' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('never throws, even when the query throws synchronously', async () => {
    const report = await gpuInfo({
      gpuQuery: () => {
        throw new Error('boom');
      },
    });
    expect(report).toEqual({ gpus: [], gpuSource: 'none', gpuError: 'boom' });
  });
});

describe('hardwareReport', () => {
  it('is JSON with CPU, memory, host and GPUs', async () => {
    const report = JSON.parse(await hardwareReport({ gpuQuery: async () => EIGHT_A100 })) as HardwareReport;
    expect(report).toMatchObject({
      cpus: expect.any(Number),
      memoryBytes: expect.any(Number),
      gpuSource: 'nvidia-smi',
    });
    expect(report.gpus).toHaveLength(8);
    expect(report.gpusOmitted).toBeUndefined();
  });

  it('runs the real nvidia-smi query (absent here or not) within its timeout', async () => {
    const started = Date.now();
    const report = JSON.parse(await hardwareReport()) as HardwareReport;
    expect(Array.isArray(report.gpus)).toBe(true);
    expect(report.gpuSource).toBe(report.gpus.length > 0 ? 'nvidia-smi' : 'none');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('drops GPUs from the end to stay within the protocol limit, and says how many', async () => {
    const many = Array.from(
      { length: 300 },
      (_, i) => `NVIDIA H100 80GB HBM3 number ${i}, 81559, ${uuid(i)}`,
    ).join('\n');
    const text = await hardwareReport({ gpuQuery: async () => many });
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(Limits.MAX_HARDWARE_BYTES);
    const report = JSON.parse(text) as HardwareReport;
    expect(report.gpus.length).toBeGreaterThan(10);
    expect(report.gpus.length + (report.gpusOmitted ?? 0)).toBe(300);
    expect(report.gpus[0]?.uuid).toBe(uuid(0));
    // the longest prefix that fits: one more GPU would not
    const oneMore = hardwareText(
      { ...report, gpus: [...report.gpus, report.gpus[0]!] },
      Number.POSITIVE_INFINITY,
    );
    expect(Buffer.byteLength(oneMore)).toBeGreaterThan(Limits.MAX_HARDWARE_BYTES - 40);
  });

  it('sends nothing rather than a HELLO the hub would refuse', () => {
    const report: HardwareReport = {
      platform: 'linux-x64',
      cpus: 1,
      cpuModel: 'x',
      memoryBytes: 1,
      hostname: 'h'.repeat(9000),
      gpus: [],
      gpuSource: 'none',
    };
    expect(hardwareText(report)).toBe('');
  });
});
