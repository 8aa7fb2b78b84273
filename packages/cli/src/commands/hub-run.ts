import { createHub, type Hub, type HubOptions } from '@slime/hub';
import type { CliContext } from '../context.js';
import { logHeapTuning } from '../heap-tuning.js';
import { loggerFor } from '../logger.js';
import { tracingFrom } from '../otel.js';
import type { Settings } from '../settings.js';
import { exitOnSignals } from '../signals.js';
import { createTlsReloads, tlsFilesFrom } from '../tls-files.js';
import { UsageError } from '../usage-error.js';
import { assemblyConfigFrom, optionError } from './hub-config.js';
import { policyReloader } from './policy-reload.js';

export { optionError };

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
  const maxUpgrades = settings.int('max-upgrades', { min: 0, max: 1_000_000 });
  if (maxUpgrades !== undefined) options.maxUpgrades = maxUpgrades;
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

/** `slime hub run`: listens until SIGTERM/SIGINT, then drains; SIGHUP re-reads the policy file. */
export async function runHub(settings: Settings, ctx: CliContext): Promise<void> {
  const options = hubOptionsFrom(settings);
  const logger = loggerFor(settings, ctx);
  const { config, policy } = await assemblyConfigFrom(settings);
  // TLS files are read (and a mismatched key refused) before anything listens
  const tlsFiles = await tlsFilesFrom(settings, 'tls-cert', 'tls-key');
  const adminTlsFiles = await tlsFilesFrom(settings, 'admin-tls-cert', 'admin-tls-key');
  if (tlsFiles) options.tls = tlsFiles.pair;
  if (adminTlsFiles && config.admin) config.admin = { ...config.admin, tls: adminTlsFiles.pair };
  const http2 = settings.bool('http2');
  if (http2 !== undefined) options.http2 = http2;
  const tracing = await tracingFrom(settings, 'slime-hub', ctx.env);
  if (tracing) {
    options.tracer = tracing.tracer;
    logger.info({ url: tracing.url }, 'exporting traces (OTLP/HTTP)');
  }
  let hub: Hub;
  try {
    hub = createHub({ ...options, ...config, logger });
  } catch (err) {
    throw optionError(err, settings, policy.path) ?? err;
  }
  try {
    // the hub logs `hub listening` with its url; tests and scripts read the port from it
    await hub.listen();
  } catch (err) {
    // listen() released everything; an address means the server listened and the admin port failed
    const admin = hub.address !== null && config.admin !== undefined;
    throw admin
      ? listenError(err, config.admin?.host ?? '127.0.0.1', config.admin?.port ?? 8081)
      : listenError(err, options.host ?? '0.0.0.0', options.port ?? 8080);
  }
  // once the command line and the policy were accepted: a refused start writes nothing to stdout
  logHeapTuning(logger, ctx);
  const tlsReloads = createTlsReloads(logger);
  const created = hub;
  tlsReloads.add(tlsFiles, (pair) => created.reloadTls(pair));
  if (config.admin) tlsReloads.add(adminTlsFiles, (pair) => created.reloadAdminTls(pair));
  created.close = ((close) => async () => {
    tlsReloads.close();
    await close();
    // the last spans (this drain's requests) leave before the process does
    await tracing?.shutdown();
  })(created.close.bind(created));
  const reloadPolicy = policyReloader(hub, policy, logger);
  exitOnSignals(hub, logger, ctx.exit, {
    reload: async () => {
      await tlsReloads.reload('SIGHUP');
      await reloadPolicy();
    },
  });
}
