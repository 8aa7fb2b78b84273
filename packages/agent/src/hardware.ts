import { execFile } from 'node:child_process';
import os from 'node:os';
import { Limits } from '@slime/protocol';

/** One GPU as the agent reports it. */
export interface GpuInfo {
  /** Product name, e.g. `NVIDIA A100-SXM4-80GB`. */
  name: string;
  /** Total memory in MiB, or null when the driver does not say (`[N/A]`). */
  memoryMiB: number | null;
  /** `GPU-…` (or `MIG-…`) id, when the tool gave one. */
  uuid?: string;
}

/** What the hub's status page shows about the machine the agent runs on (HELLO `hardware`). */
export interface HardwareReport {
  platform: string;
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  hostname: string;
  gpus: GpuInfo[];
  /** `nvidia-smi` when it listed at least one GPU, else `none`. */
  gpuSource: 'nvidia-smi' | 'none';
  /** Why the GPU query failed, when nvidia-smi exists but did not answer (absent = no GPU, no error). */
  gpuError?: string;
  /** GPUs left out of `gpus` to keep the report under the protocol's 8 KiB. */
  gpusOmitted?: number;
}

export interface HardwareReportOptions {
  /**
   * Runs the GPU query and resolves with its stdout (nvidia-smi's CSV). Default: run
   * `nvidia-smi --query-gpu=name,memory.total,uuid --format=csv,noheader,nounits`.
   */
  gpuQuery?: () => Promise<string>;
  /** Longest wait for the GPU query, ms. Default 3000. */
  timeoutMs?: number;
}

const NVIDIA_SMI_ARGS = ['--query-gpu=name,memory.total,uuid', '--format=csv,noheader,nounits'];
const DEFAULT_TIMEOUT_MS = 3000;
// Garbage from a broken driver must not fill the report: names and errors are cut to these.
const MAX_NAME_CHARS = 128;
const MAX_ERROR_CHARS = 200;
const MAX_GPU_LINES = 1024;

/** An error from the GPU query whose `code` says nvidia-smi is not installed. */
function isAbsent(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ENOENT';
}

/**
 * Runs nvidia-smi without a shell, killing it after `timeoutMs`. Rejects when it is absent
 * (`code: 'ENOENT'`), exits non-zero or times out.
 */
export function queryNvidiaSmi(options: { command?: string; timeoutMs?: number } = {}): Promise<string> {
  const command = options.command ?? 'nvidia-smi';
  return new Promise((resolve, reject) => {
    execFile(
      command,
      NVIDIA_SMI_ARGS,
      {
        timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: 1024 * 1024,
        windowsHide: true,
        encoding: 'utf8',
      },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
  });
}

/**
 * Parses `nvidia-smi --query-gpu=name,memory.total,uuid --format=csv,noheader,nounits` output:
 * one `name, memory, uuid` line per GPU. Lines that do not look like that (driver error messages,
 * blank lines) are skipped, so garbage yields an empty list rather than an error.
 */
export function parseNvidiaSmi(text: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const raw of text.split(/\r?\n/).slice(0, MAX_GPU_LINES)) {
    const fields = raw.split(',').map((f) => f.trim());
    if (fields.length < 2) continue;
    // A name may in principle hold a comma (the CSV is not quoted): take memory and uuid from the end.
    let uuid: string | undefined;
    if (fields.length >= 3) {
      const last = fields.pop()!;
      // `[N/A]` or anything else that is not an id: the GPU still counts, without a uuid
      if (/^(GPU|MIG)-[0-9A-Za-z-]{1,100}$/.test(last)) uuid = last;
    }
    const memory = fields.pop()!;
    const name = fields.join(', ').replace(/\s+/g, ' ').trim().slice(0, MAX_NAME_CHARS);
    let memoryMiB: number | null;
    if (/^\d+(\.\d+)?$/.test(memory)) memoryMiB = Math.round(Number(memory));
    else if (/^\[(N\/A|Not Supported|Unknown Error)\]$/i.test(memory)) memoryMiB = null;
    else continue;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters mark garbage
    if (name === '' || /[\x00-\x1f\x7f]/.test(name)) continue;
    gpus.push(uuid === undefined ? { name, memoryMiB } : { name, memoryMiB, uuid });
  }
  return gpus;
}

/** The GPU part of the report; never rejects, and never takes much longer than `timeoutMs`. */
export async function gpuInfo(
  options: HardwareReportOptions = {},
): Promise<Pick<HardwareReport, 'gpus' | 'gpuSource' | 'gpuError'>> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const query = options.gpuQuery ?? (() => queryNvidiaSmi({ timeoutMs }));
  let timer: NodeJS.Timeout | undefined;
  try {
    // execFile's own timeout kills the child, but its callback waits for stdout to close, which a
    // grandchild could hold open; an injected query has no timeout at all. This race bounds both.
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`GPU query timed out after ${timeoutMs} ms`)),
        timeoutMs + 250,
      );
      timer.unref();
    });
    const text = await Promise.race([Promise.resolve().then(query), deadline]);
    const gpus = parseNvidiaSmi(typeof text === 'string' ? text : '');
    return { gpus, gpuSource: gpus.length > 0 ? 'nvidia-smi' : 'none' };
  } catch (err) {
    if (isAbsent(err)) return { gpus: [], gpuSource: 'none' };
    const e = err as { killed?: boolean; code?: unknown; message?: unknown } | null;
    const reason = e?.killed
      ? `nvidia-smi timed out after ${timeoutMs} ms`
      : typeof e?.code === 'number'
        ? `nvidia-smi exited with code ${e.code}`
        : String(e?.message ?? err);
    return { gpus: [], gpuSource: 'none', gpuError: reason.slice(0, MAX_ERROR_CHARS) };
  } finally {
    clearTimeout(timer);
  }
}

/** CPU, memory and host name; no GPUs (those need a child process: see {@link hardwareReport}). */
export function hardwareInfo(): Omit<HardwareReport, 'gpus' | 'gpuSource'> {
  const cpus = os.cpus();
  return {
    platform: `${os.platform()}-${os.arch()}`,
    cpus: cpus.length,
    cpuModel: (cpus[0]?.model ?? 'unknown').trim().slice(0, MAX_NAME_CHARS),
    memoryBytes: os.totalmem(),
    hostname: os.hostname(),
  };
}

/**
 * Serialises a report for HELLO, keeping it within `maxBytes` (the protocol's 8 KiB): GPUs are
 * dropped from the end of the list, and counted in `gpusOmitted`, until the JSON fits.
 */
export function hardwareText(report: HardwareReport, maxBytes: number = Limits.MAX_HARDWARE_BYTES): string {
  let text = JSON.stringify(report);
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const all = report.gpus;
  // Binary search for the longest prefix of the GPU list that fits.
  let lo = 0;
  let hi = all.length - 1;
  let best = JSON.stringify({ ...report, gpus: [], gpusOmitted: all.length });
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const candidate = JSON.stringify({ ...report, gpus: all.slice(0, mid), gpusOmitted: all.length - mid });
    if (Buffer.byteLength(candidate) <= maxBytes) {
      best = candidate;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  text = best;
  // Only a pathological host name could still be too long: send nothing rather than a bad HELLO.
  return Buffer.byteLength(text) <= maxBytes ? text : '';
}

/**
 * The whole hardware report as HELLO text: CPU, memory, host name and the GPUs nvidia-smi lists
 * (`gpus: []`, `gpuSource: 'none'` without it). Never rejects.
 *
 * @example
 * ```ts
 * const text = await hardwareReport(); // '{"platform":"linux-x64","cpus":8,...,"gpus":[...]}'
 * ```
 */
export async function hardwareReport(options: HardwareReportOptions = {}): Promise<string> {
  const gpu = await gpuInfo(options);
  return hardwareText({ ...hardwareInfo(), ...gpu });
}
