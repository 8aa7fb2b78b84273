import { createAdminServer } from './admin/admin-server.js';
import { appRoutes } from './apps/app-routes.js';
import { createHubCluster } from './cluster/hub-cluster.js';
import { type HubConfig, resolveHubConfig } from './config.js';
import { invalidOption } from './errors.js';
import { createHubServer, type HubAddress, type Hub as HubServer } from './hub.js';
import { createHubMetrics, type HubMetrics } from './observability/hub-metrics.js';
import { createOpsRoutes } from './observability/ops-routes.js';
import { createPolicyEngine, type PolicyEngine } from './policy/engine.js';
import { createFallbackSection } from './routing/fallback-section.js';
import { createRouterSection } from './routing/router-section.js';
import type { ShapingGroupStats } from './shaping/shaper.js';
import type { CompiledShaping } from './shaping/shaping-section.js';
import { createShapingSection } from './shaping/shaping-section.js';
import type { TlsPair } from './tls/tls-options.js';

/** A whole hub: the server, its policy engine, metrics, cluster and admin port. */
export interface Hub extends HubServer {
  /**
   * The policy engine to read and update the policy through (with a cluster, the one whose updates
   * reach every hub). `update` validates the whole document and swaps it atomically.
   */
  readonly engine: PolicyEngine;
  readonly metrics: HubMetrics;
  /** The admin port's address once listening; null without `admin`. */
  readonly adminAddress: HubAddress | null;
  /** The shaped groups now in force, for status and tests. */
  shaping(): readonly ShapingGroupStats[];
  /** Serves a renewed certificate and key on the admin port (admin.tls); throws on a bad pair. */
  reloadAdminTls(pair: TlsPair): void;
}

/**
 * Creates a hub from one config, checked up front (a bad value throws a HubError
 * ERR_HUB_INVALID_OPTION naming it; a bad policy ERR_HUB_INVALID_POLICY listing every problem).
 * `listen()` starts the cluster, the server, then the admin port; `close()` drains and releases
 * all of it in reverse; `destroy()` drops it at once.
 *
 * @example
 * ```ts
 * import { createHub } from '@slime/hub';
 * await using hub = createHub({ secret: process.env.SECRET!, port: 8080, admin: { token } });
 * const { url } = await hub.listen();
 * ```
 */
export function createHub(input: HubConfig): Hub {
  const config = resolveHubConfig(input);
  const { logger, now, random, hooks } = config;
  let hub: Hub | undefined;
  const metrics = createHubMetrics(() => hub, config.metrics ?? {});
  const cluster = createHubCluster(config.cluster, logger, metrics.registry);
  let engine: PolicyEngine;
  try {
    engine = createPolicyEngine({
      logger,
      now,
      ...(config.policy !== undefined ? { policy: config.policy as never } : {}),
      ...(cluster.store ? { store: cluster.store } : {}),
      ...(config.trustedProxies ? { trustedProxies: config.trustedProxies } : {}),
      sections: {
        shaping: createShapingSection({
          now,
          random,
          logger,
          onRejected: metrics.shapingRejected,
        }),
        router: createRouterSection({ random, logger }),
        fallback: createFallbackSection({
          logger,
          onAttempt: (outcome) => {
            metrics.fallbackAttempt(outcome);
            hooks.onFallbackAttempt?.(outcome);
          },
        }),
      },
    });
  } catch (err) {
    cluster.disconnect();
    throw err;
  }
  // With a cluster the policy in Redis wins over the local one; updates write through to it.
  const shared = cluster.follow(engine);
  const shaping = () => (engine.section('shaping') as CompiledShaping | undefined)?.shaper?.stats() ?? [];
  metrics.shapingSource(shaping);
  const revoked = cluster.revocations?.isRevoked;
  const own = config.isRevoked;
  const isRevoked =
    revoked && own
      ? (claims: { jti: string; sub: string }) => revoked(claims) || own(claims)
      : (revoked ?? own);
  const server = createHubServer(
    { ...config, ...(isRevoked ? { isRevoked } : {}) },
    {
      policies: engine.slots(),
      apps: engine.apps,
      observe: metrics.observe,
      onWait: metrics.onWait,
      onAgentConnected: (agent) => {
        metrics.onAgentConnected(agent);
        hooks.onAgentConnected?.(agent);
      },
      onAgentClosed: (agent, code, reason) => {
        metrics.onAgentClosed(agent, code, reason);
        (engine.section('shaping') as CompiledShaping | undefined)?.shaper?.forgetAgent(agent.id);
        hooks.onAgentClosed?.(agent, code, reason);
      },
      onAgentRefused: (reason) => {
        metrics.agentRefused(reason);
        hooks.onAgentRefused?.(reason);
      },
      onAgentBytes: metrics.agentBytes,
      onFramingViolation: metrics.framingViolation,
      onAgentEjected: metrics.agentEjected,
      onUpstreamHealth: metrics.upstreamHealth,
      onUpgrade: metrics.upgrades,
    },
  );
  // /readyz turns 503 as soon as the drain starts, so load balancers stop sending new work.
  let draining = false;
  const ops = config.admin
    ? createOpsRoutes({
        hub: server,
        isListening: () => !draining && server.address !== null,
        metrics,
        requireAgent: config.admin.requireAgent,
        shaping,
        appWeight: (app) => engine.apps().settings(app).weight,
      })
    : undefined;
  const admin = config.admin
    ? createAdminServer({
        host: config.admin.host,
        port: config.admin.port,
        token: config.admin.token,
        engine: shared,
        logger,
        // /apps and /apps/rotate change the policy through the same engine (and Redis) as /policy
        routes: {
          ...ops?.adminRoutes(),
          ...appRoutes({ engine: shared, policyPath: config.policyPath, logger }),
        },
        ...(config.policyPath !== undefined ? { policyPath: config.policyPath } : {}),
        ...(config.cluster.redis !== undefined ? { sharedPolicyStore: 'redis' } : {}),
        ...(config.admin.tls !== undefined ? { tls: config.admin.tls } : {}),
      })
    : undefined;
  let adminAddress: HubAddress | null = null;
  let closing: Promise<void> | undefined;
  let destroyed = false;

  /** On failure everything is released; `address` tells whether the server or the admin port failed. */
  async function listen(): Promise<HubAddress> {
    try {
      return await start();
    } catch (err) {
      hub?.destroy();
      throw err;
    }
  }

  async function start(): Promise<HubAddress> {
    await cluster.start();
    const address = await server.listen();
    cluster.attach(server);
    if (admin) {
      if (config.policyPath === undefined && config.cluster.redis === undefined) {
        logger.warn(
          'policy changes through the admin API are kept in memory only: give --policy or --state-dir to persist them',
        );
      }
      const a = await admin.listen();
      adminAddress = {
        host: a.address,
        port: a.port,
        url: `${config.admin?.tls ? 'https' : 'http'}://${a.address}:${a.port}`,
      };
      logger.info({ admin: a }, 'admin API listening');
    }
    return address;
  }

  // The admin port stays up while the server drains, so /readyz can say 503 to load balancers.
  async function close(): Promise<void> {
    draining = true;
    ops?.close();
    try {
      await server.close();
    } finally {
      await cluster.close();
      await engine.close();
      cluster.disconnect();
      await admin?.close();
    }
  }

  hub = {
    listen,
    get address() {
      return server.address;
    },
    agents: () => server.agents(),
    closeAgents: (match, code, reason) => server.closeAgents(match, code, reason),
    get queueLength() {
      return server.queueLength;
    },
    get activeRequests() {
      return server.activeRequests;
    },
    appStats: () => server.appStats(),
    reloadTls: (pair) => server.reloadTls(pair),
    reloadAdminTls(pair) {
      if (!admin) throw invalidOption('admin', 'this hub has no admin port to reload');
      admin.reloadTls(pair);
    },
    engine: shared,
    metrics,
    get adminAddress() {
      return adminAddress;
    },
    shaping,
    close() {
      closing ??= close();
      return closing;
    },
    /** Drops everything at once; a later `close()` resolves once the cluster and engine are released. */
    destroy(err?: Error) {
      if (destroyed) return;
      destroyed = true;
      draining = true;
      ops?.close();
      admin?.destroy();
      server.destroy(err);
      const released = cluster
        .close()
        .then(() => engine.close())
        .catch((e: unknown) => logger.warn({ err: e }, 'releasing the hub after destroy failed'))
        .finally(() => cluster.disconnect());
      closing ??= released;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
  return hub;
}
