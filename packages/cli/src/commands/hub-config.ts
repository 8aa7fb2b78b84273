import { constants, existsSync } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type HubConfig, HubError, readPolicyDocument } from '@slime/hub';
import type { Settings } from '../settings.js';
import { UsageError } from '../usage-error.js';
import { clusterConfigFrom, STATE_FILES } from './hub-cluster.js';

/** Where `hub run` keeps its policy: --policy, else the state dir's file (which need not exist yet). */
export interface PolicySource {
  readonly path: string | undefined;
  /** The state dir's file: a missing one is no error (PUT /policy creates it). */
  readonly optional: boolean;
}

/** `--state-dir`, created when missing; exit 1 when it cannot be written (a volume's owner). */
export async function stateDirFrom(settings: Settings): Promise<string | undefined> {
  const dir = settings.string('state-dir');
  if (dir === undefined || dir === '') return undefined;
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (err as Error).message;
    throw new UsageError(`state dir ${dir} is not writable: ${why}`, { exitCode: 1, cause: err });
  }
  return dir;
}

export function policySourceFrom(settings: Settings, stateDir: string | undefined): PolicySource {
  const explicit = settings.string('policy');
  if (explicit !== undefined && explicit !== '') return { path: explicit, optional: false };
  if (stateDir !== undefined) return { path: join(stateDir, STATE_FILES.policy), optional: true };
  return { path: undefined, optional: false };
}

/** Reads the policy document (not yet checked: createHub checks it whole, with its sections). */
async function policyDocument(source: PolicySource): Promise<unknown> {
  const { path } = source;
  if (path === undefined || (source.optional && !existsSync(path))) return undefined;
  try {
    return await readPolicyDocument(path);
  } catch (err) {
    const what = err instanceof HubError ? err.message : `cannot read it: ${(err as Error).message}`;
    throw new UsageError(`invalid policy file ${path}: ${what.split('\n')[0]}`);
  }
}

/** The parts of `hub run`'s config beyond the server's options: policy, cluster, admin port. */
export async function assemblyConfigFrom(
  settings: Settings,
): Promise<{ config: Omit<HubConfig, 'secret'>; policy: PolicySource }> {
  const stateDir = await stateDirFrom(settings);
  const policy = policySourceFrom(settings, stateDir);
  const doc = await policyDocument(policy);
  const adminToken = settings.string('admin-token');
  const config: Omit<HubConfig, 'secret'> = {
    ...clusterConfigFrom(settings),
    ...(doc !== undefined ? { policy: doc } : {}),
    ...(policy.path !== undefined ? { policyPath: policy.path } : {}),
    ...(adminToken !== undefined && adminToken !== ''
      ? {
          admin: {
            token: adminToken,
            host: settings.string('admin-host') ?? '127.0.0.1',
            port: settings.int('admin-port', { min: 0, max: 65535 }) ?? 8081,
            requireAgent: settings.bool('ready-requires-agent') ?? false,
          },
        }
      : {}),
  };
  return { config, policy };
}

/** Config paths whose flag is not their name in kebab case. */
const FLAG_OF: Readonly<Record<string, string>> = {
  blockTimeoutMs: 'block-timeout',
  requestTimeoutMs: 'request-timeout',
  heartbeatTimeoutMs: 'heartbeat-timeout',
  heartbeatIntervalMs: 'heartbeat-timeout',
  drainTimeoutMs: 'drain-timeout',
  'outlierDetection.consecutiveConnectErrors': 'eject-connect-errors',
  'outlierDetection.consecutive5xx': 'eject-5xx',
  'outlierDetection.baseEjectionMs': 'eject-base-time',
  'outlierDetection.maxEjectionMs': 'eject-max-time',
  'outlierDetection.maxEjectionPercent': 'eject-max-percent',
  'admin.token': 'admin-token',
  'admin.host': 'admin-host',
  'admin.port': 'admin-port',
  'admin.requireAgent': 'ready-requires-agent',
  'cluster.redis': 'redis',
  'cluster.keyPrefix': 'redis-prefix',
  'cluster.timeoutMs': 'redis-timeout',
  'cluster.failMode': 'redis-fail-mode',
  policyPath: 'policy',
};

/** The flag that sets a hub config path (`maxQueue` is --max-queue). */
export function flagOf(option: string): string {
  return FLAG_OF[option] ?? option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * A hub option or policy error in the user's terms: the flag (or env var, or config key) that set
 * the option, from the error's `option`; a policy's problems one per line.
 */
export function optionError(err: unknown, settings?: Settings, policyPath?: string): UsageError | undefined {
  if (!(err instanceof HubError)) return undefined;
  if (err.code === 'ERR_HUB_INVALID_POLICY') {
    return new UsageError(`invalid policy file ${policyPath ?? ''}:`, { details: err.details, cause: err });
  }
  if (err.code !== 'ERR_HUB_INVALID_OPTION' || err.option === undefined) return undefined;
  const flag = flagOf(err.option);
  let source = `--${flag}`;
  try {
    source = settings?.find(flag)?.source ?? source;
  } catch {
    // an option with no flag of its own keeps its --name
  }
  return new UsageError(`invalid option: ${source}${err.message.slice(err.option.length)}`, { cause: err });
}
