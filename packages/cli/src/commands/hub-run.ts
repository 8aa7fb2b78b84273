import { constants, existsSync } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CompiledShaping,
  createAdminServer,
  createFallbackSection,
  createHub,
  createHubMetrics,
  createOpsRoutes,
  createPolicyEngine,
  createRouterSection,
  createShapingSection,
  type Hub,
  HubError,
  type HubOptions,
  loadPolicyFile,
  type PolicyDoc,
  type PolicyEngine,
  type PolicySections,
  readPolicyDocument,
  validateWithSections,
} from '@slime/hub';
import type { CliContext } from '../context.js';
import { loggerFor } from '../logger.js';
import { tracingFrom } from '../otel.js';
import type { Settings } from '../settings.js';
import { exitOnSignals } from '../signals.js';
import { createTlsReloads, tlsFilesFrom } from '../tls-files.js';
import { UsageError } from '../usage-error.js';
import { STATE_FILES, startHubCluster } from './hub-cluster.js';

/** Reads `hub run` settings into hub options; pure apart from the logger it is handed. */
export function hubOptionsFrom(settings: Settings): HubOptions {
  const options: HubOptions = {
    secret: settings.requireString('secret'),
    host: settings.string('host') ?? '0.0.0.0',
    port: settings.int('port', { min: 0, max: 65535 }) ?? 8080,
  };
  const appPassword = settings.string('app-password');
  if (appPassword !== undefined && appPassword !== '') options.appPassword = appPassword;
  const concurrent = settings.int('concurrent', { min: 0 });
  // Go's --concurrent 0 means unlimited
  if (concurrent !== undefined && concurrent > 0) options.concurrent = concurrent;
  const maxQueue = settings.int('max-queue', { min: 1 });
  if (maxQueue !== undefined) options.maxQueue = maxQueue;
  const blockTimeoutMs = settings.durationMs('block-timeout');
  // 0 = wait until the client leaves, the default
  if (blockTimeoutMs !== undefined && blockTimeoutMs > 0) options.blockTimeoutMs = Math.ceil(blockTimeoutMs);
  const outlier: NonNullable<HubOptions['outlierDetection']> = {};
  const connectErrors = settings.int('eject-connect-errors', { min: 0 });
  if (connectErrors !== undefined) outlier.consecutiveConnectErrors = connectErrors;
  const fives = settings.int('eject-5xx', { min: 0 });
  if (fives !== undefined) outlier.consecutive5xx = fives;
  const baseEjection = settings.durationMs('eject-base-time');
  if (baseEjection !== undefined) outlier.baseEjectionMs = Math.ceil(baseEjection);
  const maxEjection = settings.durationMs('eject-max-time');
  if (maxEjection !== undefined) outlier.maxEjectionMs = Math.ceil(maxEjection);
  const maxPercent = settings.int('eject-max-percent', { min: 0, max: 100 });
  if (maxPercent !== undefined) outlier.maxEjectionPercent = maxPercent;
  if (Object.keys(outlier).length > 0) options.outlierDetection = outlier;
  const requestTimeoutMs = settings.durationMs('request-timeout');
  if (requestTimeoutMs !== undefined) options.requestTimeoutMs = Math.ceil(requestTimeoutMs);
  const heartbeatTimeoutMs = settings.durationMs('heartbeat-timeout');
  if (heartbeatTimeoutMs !== undefined) {
    if (heartbeatTimeoutMs < 1000) {
      throw new UsageError(`invalid ${settings.find('heartbeat-timeout')?.source}: must be at least 1s`);
    }
    options.heartbeatTimeoutMs = Math.ceil(heartbeatTimeoutMs);
    // the hub pings at a fraction of the timeout so one lost ping does not drop an agent
    options.heartbeatIntervalMs = Math.max(500, Math.floor(heartbeatTimeoutMs / 3));
  }
  const drainTimeoutMs = settings.durationMs('drain-timeout');
  if (drainTimeoutMs !== undefined) options.drainTimeoutMs = Math.ceil(drainTimeoutMs);
  // Off unless asked: a Go token or Go agent is then refused as before.
  if (settings.bool('accept-go-tokens') === true) options.acceptGoTokens = true;
  const previousSecrets = settings.list('previous-secrets');
  if (previousSecrets && previousSecrets.length > 0) options.previousSecrets = previousSecrets;
  const trustedProxies = settings.list('trusted-proxies');
  if (trustedProxies !== undefined) options.trustedProxies = trustedProxies;
  const xff = settings.string('xff');
  if (xff !== undefined) {
    if (xff !== 'append' && xff !== 'overwrite') {
      throw new UsageError(`invalid ${settings.find('xff')?.source} "${xff}": expected append or overwrite`);
    }
    options.xff = xff;
  }
  return options;
}

/** The hub's own option checks name the option; say it in flag terms. */
export function optionError(err: unknown): UsageError | undefined {
  if (!(err instanceof TypeError || err instanceof RangeError)) return undefined;
  const flag = err.message.replace(
    /^[a-zA-Z]+/,
    (name) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
  );
  return new UsageError(`invalid option: ${flag}`, { cause: err });
}

/** A listen failure as one line: a taken port is a runtime failure (1), a bad host a usage error (2). */
export function listenError(err: unknown, host: string, port: number): UsageError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE')
    return new UsageError(`port ${port} is already in use (host ${host})`, { exitCode: 1 });
  if (code === 'EACCES') {
    return new UsageError(`permission denied listening on port ${port} (host ${host})`, { exitCode: 1 });
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new UsageError(`cannot listen on host ${host}: address not available here`);
  }
  return new UsageError(`cannot listen on ${host}:${port}: ${(err as Error)?.message ?? String(err)}`, {
    exitCode: 1,
  });
}

/** `--state-dir`, created when missing; exit 1 when it cannot be written (a volume's owner). */
async function stateDirFrom(settings: Settings): Promise<string | undefined> {
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

const isMissingFile = (err: unknown) =>
  ((err as { cause?: NodeJS.ErrnoException } | undefined)?.cause?.code ?? '') === 'ENOENT';

/**
 * Reads a policy file and checks it whole (core rules and every section), so the user sees every
 * problem at once, one per line, as docs/policy.md shows them.
 */
async function policyFromFile(path: string, sections: PolicySections): Promise<PolicyDoc> {
  let doc: unknown;
  try {
    doc = await readPolicyDocument(path);
  } catch (err) {
    const what = err instanceof HubError ? err.message : `cannot read it: ${(err as Error).message}`;
    throw new UsageError(`invalid policy file ${path}: ${what.split('\n')[0]}`);
  }
  const r = validateWithSections(doc, sections);
  if (!r.ok) throw new UsageError(`invalid policy file ${path}:`, { details: r.errors });
  return r.policy;
}

/** `slime hub run`: listens until SIGTERM/SIGINT, then drains; SIGHUP re-reads the policy file. */
export async function runHub(settings: Settings, ctx: CliContext): Promise<void> {
  const options = hubOptionsFrom(settings);
  const logger = loggerFor(settings, ctx);
  options.logger = logger;
  // TLS files are read (and a mismatched key refused) before anything listens
  const tlsFiles = await tlsFilesFrom(settings, 'tls-cert', 'tls-key');
  const adminTlsFiles = await tlsFilesFrom(settings, 'admin-tls-cert', 'admin-tls-key');
  if (tlsFiles) options.tls = tlsFiles.pair;
  const http2 = settings.bool('http2');
  if (http2 !== undefined) options.http2 = http2;
  const tlsReloads = createTlsReloads(logger);
  const tracing = await tracingFrom(settings, 'slime-hub', ctx.env);
  if (tracing) {
    options.tracer = tracing.tracer;
    logger.info({ url: tracing.url }, 'exporting traces (OTLP/HTTP)');
  }
  const stateDir = await stateDirFrom(settings);
  const explicitPolicy = settings.string('policy');
  // --policy wins; else the state dir's file, which need not exist yet (PUT /policy creates it)
  const policyPath =
    explicitPolicy !== undefined && explicitPolicy !== ''
      ? explicitPolicy
      : stateDir !== undefined
        ? join(stateDir, STATE_FILES.policy)
        : undefined;
  const policyOptional = policyPath !== undefined && policyPath !== explicitPolicy;
  let hub: Hub | undefined;
  const metrics = createHubMetrics(() => hub);
  const sections = {
    shaping: createShapingSection({
      now: Date.now,
      random: Math.random,
      logger,
      onRejected: metrics.shapingRejected,
      ...(options.maxQueue === undefined ? {} : { maxWaiting: options.maxQueue }),
    }),
    router: createRouterSection({ random: Math.random, logger }),
    fallback: createFallbackSection({ logger, onAttempt: metrics.fallbackAttempt }),
  };
  let policy: PolicyDoc | undefined;
  if (policyPath !== undefined && !(policyOptional && !existsSync(policyPath))) {
    policy = await policyFromFile(policyPath, sections);
  }
  const cluster = await startHubCluster(settings, logger, metrics.registry);
  options.isRevoked = cluster.revocations.isRevoked;
  let engine: PolicyEngine;
  try {
    engine = createPolicyEngine({
      logger,
      ...(cluster.store ? { store: cluster.store } : {}),
      ...(policy ? { policy } : {}),
      ...(options.trustedProxies ? { trustedProxies: options.trustedProxies } : {}),
      sections,
    });
  } catch (err) {
    await cluster.close();
    throw err;
  }
  // With --redis the policy in Redis wins over the file; the admin API then writes through to it.
  const adminEngine = await cluster.syncPolicy(engine, policyPath);
  const shaper = () => (engine.section('shaping') as CompiledShaping | undefined)?.shaper;
  metrics.shapingSource(() => shaper()?.stats() ?? []);
  try {
    hub = createHub(options, {
      policies: engine.slots(),
      bytes: { request: engine.onRequestBytes, response: engine.onResponseBytes },
      observe: metrics.observe,
      onWait: metrics.onWait,
      onAgentConnected: metrics.onAgentConnected,
      onAgentClosed: (agent, code, reason) => {
        metrics.onAgentClosed(agent, code, reason);
        shaper()?.forgetAgent(agent.id);
      },
      onAgentRefused: metrics.agentRefused,
      onAgentBytes: metrics.agentBytes,
      onFramingViolation: metrics.framingViolation,
      onAgentEjected: metrics.agentEjected,
      onUpstreamHealth: metrics.upstreamHealth,
    });
  } catch (err) {
    await cluster.close();
    throw optionError(err) ?? err;
  }
  const created = hub;
  try {
    // the hub logs `hub listening` with its url; tests and scripts read the port from it
    await created.listen();
  } catch (err) {
    created.destroy();
    await cluster.close();
    throw listenError(err, options.host ?? '0.0.0.0', options.port ?? 8080);
  }
  cluster.attach(created);
  tlsReloads.add(tlsFiles, (pair) => created.reloadTls(pair));
  created.close = ((close) => async () => {
    await close();
    await cluster.close();
  })(created.close.bind(created));
  const adminToken = settings.string('admin-token');
  if (adminToken !== undefined && adminToken !== '') {
    // /readyz turns 503 as soon as the drain starts, so load balancers stop sending new work
    let draining = false;
    const ops = createOpsRoutes({
      hub: created,
      isListening: () => !draining && created.address !== undefined,
      metrics,
      requireAgent: settings.bool('ready-requires-agent') ?? false,
      shaping: () => shaper()?.stats() ?? [],
    });
    const adminHost = settings.string('admin-host') ?? '127.0.0.1';
    const adminPort = settings.int('admin-port', { min: 0, max: 65535 }) ?? 8081;
    const admin = createAdminServer({
      host: adminHost,
      port: adminPort,
      token: adminToken,
      engine: adminEngine,
      logger,
      routes: ops.adminRoutes(),
      ...(policyPath !== undefined ? { policyPath } : {}),
      ...(cluster.store !== undefined ? { sharedPolicyStore: 'redis' } : {}),
      ...(adminTlsFiles ? { tls: adminTlsFiles.pair } : {}),
    });
    tlsReloads.add(adminTlsFiles, (pair) => admin.reloadTls(pair));
    if (policyPath === undefined && cluster.store === undefined) {
      logger.warn(
        'policy changes through the admin API are kept in memory only: give --policy or --state-dir to persist them',
      );
    }
    try {
      const address = await admin.listen();
      logger.info({ admin: address }, 'admin API listening');
    } catch (err) {
      created.destroy();
      throw listenError(err, adminHost, adminPort);
    }
    created.close = ((close) => async () => {
      draining = true;
      ops.close();
      await close();
      await admin.close();
    })(created.close.bind(created));
  }
  const reload = async (): Promise<void> => {
    if (policyPath === undefined) {
      logger.warn('SIGHUP: no policy file to reload (give --policy or --state-dir); still running');
      return;
    }
    let doc: PolicyDoc;
    try {
      doc = await loadPolicyFile(policyPath);
    } catch (err) {
      if (policyOptional && isMissingFile(err)) {
        logger.info({ policyPath }, 'SIGHUP: no policy file yet; nothing to reload');
        return;
      }
      logger.error(
        { policyPath, errors: (err as Error).message },
        'SIGHUP: policy file rejected; the previous policy stays in force',
      );
      return;
    }
    try {
      // through the admin engine: with --redis the reloaded policy reaches every hub
      adminEngine.update(doc);
    } catch (err) {
      logger.error(
        { policyPath, errors: (err as Error).message },
        'SIGHUP: policy file rejected; the previous policy stays in force',
      );
      return;
    }
    logger.info({ policyPath }, 'SIGHUP: policy reloaded');
  };
  created.close = ((close) => async () => {
    tlsReloads.close();
    await close();
    // the last spans (this drain's requests) leave before the process does
    await tracing?.shutdown();
  })(created.close.bind(created));
  exitOnSignals(created, logger, ctx.exit, {
    reload: async () => {
      await tlsReloads.reload('SIGHUP');
      await reload();
    },
  });
}
