import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Hub as HubServer } from '../hub.js';
import type { PolicyEngine } from '../policy/engine.js';
import { savePolicyFile } from '../policy/policy-file.js';
import type { CounterStore } from '../policy/store.js';
import { createClusterMetrics } from './cluster-metrics.js';
import { disconnectRevoked } from './disconnect-revoked.js';
import { createFileRevocations } from './file-revocations.js';
import { createPolicySync, type PolicySync } from './policy-sync.js';
import { createRedisClient, waitReady } from './redis-client.js';
import { createRedisStore, type FailMode } from './redis-store.js';
import { createRedisRevocations, type RevocationList } from './revocations.js';

/** What the hub's config says of the cluster, validated and defaulted (see config.ts). */
export interface ClusterSettings {
  readonly redis: string | undefined;
  readonly keyPrefix: string;
  readonly timeoutMs: number;
  readonly failMode: FailMode;
  /** How long `start()` waits for Redis before going on with the local policy and fail mode. */
  readonly connectWaitMs: number;
  /** The deny-list file followed without Redis; none when undefined. */
  readonly revocationsFile: string | undefined;
  /** With Redis, remote policy updates are saved here too, so a restart without Redis starts from them. */
  readonly policyPath: string | undefined;
}

export interface HubCluster {
  /** The Redis counter store; undefined without Redis (the engine keeps its memory store). */
  readonly store: CounterStore | undefined;
  readonly revocations: RevocationList | undefined;
  /** The engine whose updates reach every hub (the policy sync's), or `engine` itself without Redis. */
  follow(engine: PolicyEngine): PolicyEngine;
  /** Connects, loads the deny list and the shared policy. */
  start(): Promise<void>;
  /** Disconnects agents whose token gets revoked. */
  attach(hub: Pick<HubServer, 'closeAgents'>): void;
  /** Stops following; the Redis connection is dropped by `disconnect()` once the store is closed. */
  close(): Promise<void>;
  disconnect(): void;
}

/**
 * The several-hubs part of a hub: rate-limit counters, policy and deny list shared through Redis,
 * or, without Redis, only the local deny-list file (when one is given).
 */
export function createHubCluster(settings: ClusterSettings, logger: Logger, registry: Registry): HubCluster {
  const metrics = createClusterMetrics(registry);
  const stops: (() => unknown)[] = [];
  const attach = (hub: Pick<HubServer, 'closeAgents'>, list: RevocationList | undefined) => {
    if (list) stops.push(disconnectRevoked(hub, list, metrics.revokedDisconnected));
  };

  if (settings.redis === undefined) {
    const path = settings.revocationsFile;
    const revocations =
      path === undefined
        ? undefined
        : createFileRevocations({ path, logger: logger.child({ component: 'revocations' }) });
    return {
      store: undefined,
      revocations,
      follow: (engine) => engine,
      start: async () => revocations?.start(),
      attach: (hub) => attach(hub, revocations),
      async close() {
        for (const s of stops) s();
        await revocations?.close();
      },
      disconnect() {},
    };
  }

  const log = logger.child({ component: 'redis' });
  const { keyPrefix, timeoutMs, failMode, policyPath } = settings;
  const redis = createRedisClient(settings.redis, {
    commandTimeoutMs: timeoutMs,
    logger: log,
    name: 'slime-hub',
  });
  const store = createRedisStore({
    redis,
    keyPrefix,
    timeoutMs,
    failMode,
    logger: log,
    onFailure: metrics.storeFailure,
  });
  const revocations = createRedisRevocations({ redis, keyPrefix, logger: log });
  let sync: PolicySync | undefined;
  return {
    store,
    revocations,
    follow(engine) {
      sync = createPolicySync({
        redis,
        engine,
        keyPrefix,
        logger: log,
        onEvent: metrics.policySync,
        ...(policyPath !== undefined
          ? {
              onRemoteUpdate: (doc) =>
                savePolicyFile(policyPath, doc).catch((err: unknown) =>
                  log.warn({ err }, 'could not write the policy file'),
                ),
            }
          : {}),
      });
      return sync.engine;
    },
    async start() {
      if (!(await waitReady(redis, settings.connectWaitMs))) {
        log.warn(
          { waitedMs: settings.connectWaitMs },
          'redis not reachable yet; starting with the local policy and fail mode',
        );
      }
      await revocations.start();
      log.info(
        { failMode, timeoutMs, keyPrefix },
        'sharing rate limits, policy and revocations through redis',
      );
      await sync?.start();
    },
    attach: (hub) => attach(hub, revocations),
    async close() {
      for (const s of stops) s();
      await sync?.close();
      await revocations.close();
    },
    disconnect: () => redis.disconnect(),
  };
}
