import { join } from 'node:path';
import { DEFAULT_REDIS_TIMEOUT_MS, FAIL_MODES, type FailMode, type HubConfig } from '@slime/hub';
import type { Settings } from '../settings.js';
import { UsageError } from '../usage-error.js';

export const DEFAULT_REVOCATIONS_FILE = 'slime-revoked.json';
/** File names inside --state-dir. */
export const STATE_FILES = { policy: 'policy.yaml', revocations: 'revoked.json' } as const;

/**
 * The deny-list file `hub run` follows without --redis: --revocations-file, else
 * `<state-dir>/revoked.json`, else `./slime-revoked.json` (the Go-era default, relative to the
 * hub's working directory).
 */
export function hubRevocationsPath(settings: Settings): string {
  const explicit = settings.string('revocations-file');
  if (explicit !== undefined && explicit !== '') return explicit;
  const dir = settings.string('state-dir');
  return dir !== undefined && dir !== '' ? join(dir, STATE_FILES.revocations) : DEFAULT_REVOCATIONS_FILE;
}
/** How long `hub run` waits for Redis at start before going on with its own policy file. */
const CONNECT_WAIT_MS = 3000;

/** `--redis`, checked: a usage error names the source when it is not a redis URL. */
export function redisUrlFrom(settings: Settings): string | undefined {
  const url = settings.string('redis');
  if (url === undefined || url === '') return undefined;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {}
  if (!parsed || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || !parsed.hostname) {
    throw new UsageError(
      `invalid ${settings.find('redis')?.source} "${url}": expected redis://host:port or rediss://`,
    );
  }
  return url;
}

/**
 * The several-hubs part of `hub run`'s config: Redis when --redis is given, else the deny-list
 * file. The ranges are checked here too so a mistake names the flag or env var that set it.
 */
export function clusterConfigFrom(settings: Settings): Pick<HubConfig, 'cluster' | 'revocationsFile'> {
  const url = redisUrlFrom(settings);
  const timeoutMs = settings.durationMs('redis-timeout') ?? DEFAULT_REDIS_TIMEOUT_MS;
  // A bare number is seconds for every duration flag; `--redis-timeout 50` meaning 50 s would hold
  // every request that long when Redis hangs, so the range is checked.
  if (timeoutMs < 1 || timeoutMs > 10_000) {
    throw new UsageError(
      `invalid ${settings.find('redis-timeout')?.source}: must be between 1ms and 10s (write 50ms, not 50)`,
    );
  }
  const failMode = (settings.string('redis-fail-mode') ?? 'fail-open') as FailMode;
  if (!FAIL_MODES.includes(failMode)) {
    throw new UsageError(
      `invalid ${settings.find('redis-fail-mode')?.source} "${failMode}": expected fail-open or fail-closed`,
    );
  }
  if (url === undefined) return { revocationsFile: hubRevocationsPath(settings) };
  return {
    cluster: {
      redis: url,
      keyPrefix: settings.string('redis-prefix') ?? 'slime:',
      timeoutMs: Math.ceil(timeoutMs),
      failMode,
      connectWaitMs: CONNECT_WAIT_MS,
    },
  };
}
