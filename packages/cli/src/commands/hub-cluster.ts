import { join } from 'node:path';
import {
  type CounterStore,
  createClusterMetrics,
  createFileRevocations,
  createPolicySync,
  createRedisClient,
  createRedisRevocations,
  createRedisStore,
  DEFAULT_REDIS_TIMEOUT_MS,
  disconnectRevoked,
  FAIL_MODES,
  type FailMode,
  type Hub,
  type HubMetrics,
  type PolicyEngine,
  type PolicySync,
  type RevocationList,
  savePolicyFile,
  waitReady,
} from '@slime/hub';
import type { Logger } from 'pino';
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

export interface HubCluster {
  /** The Redis counter store, or undefined without --redis (the engine keeps its memory store). */
  readonly store: CounterStore | undefined;
  readonly revocations: RevocationList;
  /** Follows the shared policy: loads it from Redis (or seeds Redis); returns the engine for the admin API. */
  syncPolicy(engine: PolicyEngine, policyPath: string | undefined): Promise<PolicyEngine>;
  /** Disconnects agents whose token gets revoked. */
  attach(hub: Hub): void;
  close(): Promise<void>;
}

/** The several-hubs wiring of `hub run`: all of it inert without --redis but the local deny list. */
export async function startHubCluster(
  settings: Settings,
  logger: Logger,
  registry: HubMetrics['registry'],
): Promise<HubCluster> {
  const url = redisUrlFrom(settings);
  const keyPrefix = settings.string('redis-prefix') ?? 'slime:';
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
  const metrics = createClusterMetrics(registry);
  const stops: (() => unknown)[] = [];
  let sync: PolicySync | undefined;

  if (url === undefined) {
    const path = hubRevocationsPath(settings);
    const revocations = createFileRevocations({ path, logger: logger.child({ component: 'revocations' }) });
    await revocations.start();
    return {
      store: undefined,
      revocations,
      syncPolicy: async (engine) => engine,
      attach: (hub) => void stops.push(disconnectRevoked(hub, revocations, metrics.revokedDisconnected)),
      async close() {
        for (const s of stops) s();
        await revocations.close();
      },
    };
  }

  const log = logger.child({ component: 'redis' });
  const redis = createRedisClient(url, {
    commandTimeoutMs: Math.ceil(timeoutMs),
    logger: log,
    name: 'slime-hub',
  });
  if (!(await waitReady(redis, CONNECT_WAIT_MS))) {
    log.warn(
      { waitedMs: CONNECT_WAIT_MS },
      'redis not reachable yet; starting with the local policy and fail mode',
    );
  }
  const store = createRedisStore({
    redis,
    keyPrefix,
    timeoutMs: Math.ceil(timeoutMs),
    failMode,
    logger: log,
    onFailure: metrics.storeFailure,
  });
  const revocations = createRedisRevocations({ redis, keyPrefix, logger: log });
  await revocations.start();
  log.info({ failMode, timeoutMs, keyPrefix }, 'sharing rate limits, policy and revocations through redis');
  return {
    store,
    revocations,
    async syncPolicy(engine, policyPath) {
      sync = createPolicySync({
        redis,
        engine,
        keyPrefix,
        logger: log,
        onEvent: metrics.policySync,
        // Keep the file in step so a restart without Redis starts from the policy last in force.
        ...(policyPath !== undefined
          ? {
              onRemoteUpdate: (doc) =>
                savePolicyFile(policyPath, doc).catch((err: unknown) =>
                  log.warn({ err }, 'could not write the policy file'),
                ),
            }
          : {}),
      });
      await sync.start();
      return sync.engine;
    },
    attach: (hub) => void stops.push(disconnectRevoked(hub, revocations, metrics.revokedDisconnected)),
    async close() {
      for (const s of stops) s();
      await sync?.close();
      await revocations.close();
      await store.close();
      redis.disconnect();
    },
  };
}
