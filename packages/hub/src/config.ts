import { pino } from 'pino';
import type { AgentConnection } from './agents/agent-connection.js';
import type { ClusterSettings } from './cluster/hub-cluster.js';
import { DEFAULT_REDIS_TIMEOUT_MS } from './cluster/redis-client.js';
import { FAIL_MODES, type FailMode } from './cluster/redis-store.js';
import { createOutlierDetector } from './dispatch/outlier-ejection.js';
import { HubError, invalidOption } from './errors.js';
import type { HubMetricsOptions } from './observability/hub-metrics.js';
import { type HubOptions, validateHubOptions } from './options.js';
import { compileTrustedProxies } from './policy/client-ip.js';
import type { AttemptOutcome } from './routing/fallback-policy.js';
import { type TlsPair, tlsPairProblem } from './tls/tls-options.js';

/** The admin port: policy API, /metrics, /healthz, /readyz, /status and the status page. */
export interface HubAdminConfig {
  /** Required: operators send `Authorization: Bearer <token>`. */
  token: string;
  /** Default 127.0.0.1: the admin API is for operators, not the network. */
  host?: string;
  /** Default 8081; 0 picks a free port. */
  port?: number;
  /** /readyz also requires at least one ready agent. Default false. */
  requireAgent?: boolean;
  /** Serve the admin port over TLS with this certificate and key (PEM); plain HTTP without. */
  tls?: TlsPair;
}

/** Several hubs sharing rate-limit counters, the policy and the deny list through Redis. */
export interface HubClusterConfig {
  /** redis://host:port or rediss://. */
  redis: string;
  /** Prefix of every key. Default `slime:`. */
  keyPrefix?: string;
  /** Budget of a Redis call on the request path, ms, 1 to 10000. Default 50. */
  timeoutMs?: number;
  /** What rate limits do when Redis does not answer in time. Default fail-open. */
  failMode?: FailMode;
  /** How long `listen()` waits for Redis before going on with the local policy, ms. Default 3000. */
  connectWaitMs?: number;
}

/** Observers called after the hub's own (metrics, shaping); for embedding and tests. */
export interface HubHooks {
  onAgentConnected?: (agent: AgentConnection) => void;
  onAgentClosed?: (agent: AgentConnection, code: number, reason: string) => void;
  /** An agent's upgrade was refused; `reason` is the TokenRejection or "error". */
  onAgentRefused?: (reason: string) => void;
  /** One call per fallback endpoint considered. */
  onFallbackAttempt?: (outcome: AttemptOutcome) => void;
}

/**
 * Everything a hub is made of, in one object: the HTTP/agent server's options plus the policy,
 * metrics, cluster and admin port that `createHub` assembles around it.
 */
export interface HubConfig extends HubOptions {
  /** The policy in force at start (a parsed policy file), checked whole: core rules and every section. */
  policy?: unknown;
  /** Where the admin API persists policy changes, and where a cluster saves remote ones. */
  policyPath?: string;
  /** A deny-list file to follow (without `cluster`, which shares the list through Redis). */
  revocationsFile?: string;
  cluster?: HubClusterConfig;
  /** The admin port; none when absent. */
  admin?: HubAdminConfig;
  /** Prometheus metrics (a registry of the hub's own). */
  metrics?: HubMetricsOptions;
  hooks?: HubHooks;
}

/** A config after `resolveHubConfig`: frozen, defaults filled where the assembly needs them. */
export interface ResolvedHubConfig extends Readonly<Omit<HubConfig, 'admin' | 'cluster' | 'hooks'>> {
  readonly logger: NonNullable<HubOptions['logger']>;
  readonly now: () => number;
  readonly random: () => number;
  readonly admin: (Readonly<Required<Omit<HubAdminConfig, 'tls'>>> & { readonly tls?: TlsPair }) | undefined;
  readonly cluster: ClusterSettings;
  readonly hooks: Readonly<HubHooks>;
}

const CONNECT_WAIT_MS = 3000;

/** Runs a part's own checks and reports what it throws as an option error under `prefix`. */
function asOption(prefix: string, check: () => unknown): void {
  try {
    check();
  } catch (err) {
    if (err instanceof HubError) throw err;
    const message = (err as Error).message;
    const [first = '', ...rest] = message.split(' ');
    // The part's message starts with its own field name when it has one.
    const named = /^[a-zA-Z0-9]+$/.test(first) && rest.length > 0 && first !== 'not';
    throw named ? invalidOption(`${prefix}.${first}`, rest.join(' ')) : invalidOption(prefix, message);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalString(o: Record<string, unknown>, name: string, path: string, nonEmpty = false): void {
  const v = o[name];
  if (v === undefined) return;
  if (typeof v !== 'string' || (nonEmpty && v.length === 0)) {
    throw invalidOption(path, nonEmpty ? 'must be a non-empty string' : 'must be a string');
  }
}

function intIn(v: unknown, path: string, min: number, max: number): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidOption(path, 'must be an integer');
  if (v < min || v > max) throw invalidOption(path, `must be between ${min} and ${max}`);
}

function checkedTls(tls: unknown): TlsPair {
  const problem = tlsPairProblem(tls as TlsPair, 'admin.tls');
  if (problem !== undefined) throw invalidOption('admin.tls', problem);
  return tls as TlsPair;
}

function resolveAdmin(admin: unknown): ResolvedHubConfig['admin'] {
  if (admin === undefined) return undefined;
  if (!isObject(admin)) throw invalidOption('admin', 'must be an object');
  if (typeof admin.token !== 'string' || admin.token.length === 0) {
    throw invalidOption('admin.token', 'must be a non-empty string');
  }
  optionalString(admin, 'host', 'admin.host');
  intIn(admin.port, 'admin.port', 0, 65535);
  if (admin.requireAgent !== undefined && typeof admin.requireAgent !== 'boolean') {
    throw invalidOption('admin.requireAgent', 'must be a boolean');
  }
  return Object.freeze({
    token: admin.token,
    host: (admin.host as string | undefined) ?? '127.0.0.1',
    port: (admin.port as number | undefined) ?? 8081,
    requireAgent: (admin.requireAgent as boolean | undefined) ?? false,
    ...(admin.tls !== undefined ? { tls: checkedTls(admin.tls) } : {}),
  });
}

function resolveCluster(config: HubConfig): ClusterSettings {
  const { cluster } = config;
  const base = {
    revocationsFile: config.revocationsFile,
    policyPath: config.policyPath,
    keyPrefix: 'slime:',
    timeoutMs: DEFAULT_REDIS_TIMEOUT_MS,
    failMode: 'fail-open' as FailMode,
    connectWaitMs: CONNECT_WAIT_MS,
  };
  if (cluster === undefined) return Object.freeze({ ...base, redis: undefined });
  if (!isObject(cluster)) throw invalidOption('cluster', 'must be an object');
  if (typeof cluster.redis !== 'string' || !/^rediss?:\/\/[^/:]/.test(cluster.redis)) {
    throw invalidOption('cluster.redis', 'must be a redis:// or rediss:// URL');
  }
  optionalString(cluster, 'keyPrefix', 'cluster.keyPrefix');
  // A bare number is seconds on the command line; 50 s per request while Redis hangs is never meant.
  intIn(cluster.timeoutMs, 'cluster.timeoutMs', 1, 10_000);
  intIn(cluster.connectWaitMs, 'cluster.connectWaitMs', 0, 600_000);
  if (cluster.failMode !== undefined && !FAIL_MODES.includes(cluster.failMode)) {
    throw invalidOption('cluster.failMode', `must be one of ${FAIL_MODES.join(', ')}`);
  }
  return Object.freeze({
    ...base,
    redis: cluster.redis,
    keyPrefix: cluster.keyPrefix ?? base.keyPrefix,
    timeoutMs: cluster.timeoutMs ?? base.timeoutMs,
    failMode: cluster.failMode ?? base.failMode,
    connectWaitMs: cluster.connectWaitMs ?? base.connectWaitMs,
  });
}

function resolveHooks(hooks: unknown): Readonly<HubHooks> {
  if (hooks === undefined) return Object.freeze({});
  if (!isObject(hooks)) throw invalidOption('hooks', 'must be an object');
  for (const [name, fn] of Object.entries(hooks)) {
    if (fn !== undefined && typeof fn !== 'function')
      throw invalidOption(`hooks.${name}`, 'must be a function');
  }
  return Object.freeze({ ...hooks });
}

/**
 * The one place a hub's config is checked and defaulted. Every problem is a HubError
 * ERR_HUB_INVALID_OPTION whose `option` is the path of the value at fault (`maxQueue`,
 * `admin.port`, `outlierDetection.consecutive5xx`). The policy is checked by the engine, which
 * knows its sections (ERR_HUB_INVALID_POLICY).
 */
export function resolveHubConfig(config: HubConfig): ResolvedHubConfig {
  validateHubOptions(config);
  const o = config as unknown as Record<string, unknown>;
  optionalString(o, 'policyPath', 'policyPath', true);
  optionalString(o, 'revocationsFile', 'revocationsFile', true);
  asOption('trustedProxies', () => compileTrustedProxies(config.trustedProxies));
  if (config.outlierDetection !== undefined) {
    asOption('outlierDetection', () =>
      createOutlierDetector(config.outlierDetection ?? {}, {
        now: () => 0,
        setTimer: () => undefined,
        clearTimer: () => undefined,
      }).close(),
    );
  }
  if (config.metrics !== undefined && !isObject(config.metrics))
    throw invalidOption('metrics', 'must be an object');
  intIn(config.metrics?.maxLabelValues, 'metrics.maxLabelValues', 1, 1_000_000);
  // Frozen copies, so a caller's later edits to its own objects change nothing here.
  const frozen = <T>(v: T): T => Object.freeze(structuredClone(v));
  return Object.freeze({
    ...config,
    ...(config.trustedProxies ? { trustedProxies: frozen(config.trustedProxies) } : {}),
    ...(config.previousSecrets ? { previousSecrets: frozen(config.previousSecrets) } : {}),
    ...(config.outlierDetection ? { outlierDetection: frozen(config.outlierDetection) } : {}),
    ...(config.metrics ? { metrics: frozen(config.metrics) } : {}),
    logger: config.logger ?? pino({ level: 'silent' }),
    now: config.now ?? Date.now,
    random: config.random ?? Math.random,
    admin: resolveAdmin(config.admin),
    cluster: resolveCluster(config),
    hooks: resolveHooks(config.hooks),
  });
}
