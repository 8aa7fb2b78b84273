import os from 'node:os';

/** What the hub's status page shows about the machine the agent runs on. */
export function hardwareInfo(): string {
  const cpus = os.cpus();
  return JSON.stringify({
    platform: `${os.platform()}-${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    hostname: os.hostname(),
  });
}
