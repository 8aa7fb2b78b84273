import {
  type Agent,
  type AgentOptions,
  createAgent,
  createAgentMetrics,
  hubList,
  hubUrl,
  serveMetrics,
  upstreamTarget,
} from '@slime/agent';
import type { Logger } from 'pino';
import type { CliContext } from '../context.js';
import { logHeapTuning } from '../heap-tuning.js';
import { hubTlsFrom } from '../hub-tls-flags.js';
import { loggerFor } from '../logger.js';
import { tracingFrom } from '../otel.js';
import type { Settings } from '../settings.js';
import { exitOnSignals } from '../signals.js';
import { UsageError } from '../usage-error.js';

/** A positive duration in whole ms, or undefined when unset; 0 or less is a usage error. */
function positiveMs(settings: Settings, flag: string): number | undefined {
  const ms = settings.durationMs(flag);
  if (ms === undefined) return undefined;
  if (ms <= 0)
    throw new UsageError(`invalid ${settings.find(flag)?.source ?? `--${flag}`}: must be more than 0`);
  return Math.ceil(ms);
}

function requireList(settings: Settings, flag: string): { items: string[]; source: string } {
  const items = settings.list(flag);
  const source = settings.find(flag)?.source ?? `--${flag}`;
  if (items === undefined || items.length === 0) {
    throw new UsageError(`missing --${flag} (or env ${flag.toUpperCase()})`);
  }
  return { items, source };
}

/**
 * Reads `agent run` settings into one agent option set per upstream. Each agent keeps a
 * connection to every hub and shares its `--num-worker` slots between them, so the upstream never
 * sees more than that many requests at once (the Go version took a single hub and served only one
 * of several upstreams).
 */
export function agentOptionsFrom(settings: Settings): AgentOptions[] {
  const token = settings.requireString('token');
  const hubs = requireList(settings, 'hub');
  const upstreams = requireList(settings, 'upstream');
  for (const hub of hubs.items) {
    try {
      hubUrl(hub);
    } catch {
      throw new UsageError(
        `invalid ${hubs.source} "${hub}": expected an http://, https://, ws:// or wss:// URL`,
      );
    }
  }
  try {
    hubList(hubs.items);
  } catch (err) {
    throw new UsageError(`invalid ${hubs.source}: ${(err as Error).message}`);
  }
  for (const upstream of upstreams.items) {
    try {
      upstreamTarget(upstream);
    } catch {
      throw new UsageError(
        `invalid ${upstreams.source} "${upstream}": expected host:port or an http(s):// URL`,
      );
    }
  }
  const numWorker = settings.int('num-worker', { min: 1, max: 10_000 }) ?? 1;
  const agentId = settings.string('agent-id');
  const reportHardware = settings.bool('report-hardware') ?? true;
  const preserveHost = settings.bool('preserve-host') ?? false;
  const upstreamHeadersTimeoutMs = positiveMs(settings, 'upstream-header-timeout');
  const upstreamBodyTimeoutMs = positiveMs(settings, 'upstream-body-timeout');
  const healthIntervalMs = positiveMs(settings, 'health-interval');
  const healthPath = settings.string('health-path');
  if (healthPath !== undefined && healthPath !== '' && !/^\/[\x21-\x22\x24-\x7e]*$/.test(healthPath)) {
    throw new UsageError(
      `invalid ${settings.find('health-path')?.source} "${healthPath}": expected a path such as /health`,
    );
  }
  const hubTls = hubTlsFrom(settings);
  const many = upstreams.items.length > 1;
  const hub = hubs.items.length === 1 ? hubs.items[0]! : hubs.items;
  return upstreams.items.map((upstream, i) => {
    const options: AgentOptions = { token, hub, upstream, numWorker, reportHardware, preserveHost };
    if (upstreamHeadersTimeoutMs !== undefined) options.upstreamHeadersTimeoutMs = upstreamHeadersTimeoutMs;
    if (upstreamBodyTimeoutMs !== undefined) options.upstreamBodyTimeoutMs = upstreamBodyTimeoutMs;
    if (healthIntervalMs !== undefined) options.healthIntervalMs = healthIntervalMs;
    if (hubTls !== undefined) options.hubTls = hubTls;
    if (healthPath !== undefined && healthPath !== '') options.healthPath = healthPath;
    // one id per upstream, so the hubs' status pages can tell them apart
    if (agentId !== undefined && agentId !== '') options.agentId = many ? `${agentId}-${i + 1}` : agentId;
    return options;
  });
}

function closeAll(agents: readonly Agent[]) {
  return {
    close: async () => {
      await Promise.all(agents.map((a) => a.close()));
    },
    destroy: () => {
      for (const a of agents) a.destroy();
    },
  };
}

/** What to do about each reason a hub gives for refusing a token (its 401's `reason`). */
const REFUSAL_ADVICE: Readonly<Record<string, string>> = {
  expired: 'the token has expired: mint a new one with `slime hub register`',
  'bad-signature': "the token was signed with another secret than this hub's --secret",
  malformed: 'this is not a token from `slime hub register` (a JWT signed HS256)',
  'bad-claims': "the token's claims are malformed (sub, jti, iat, exp, scopes)",
  revoked: 'the token, or every token of its agent name, is revoked (`slime hub revoke --list`)',
  missing: 'the hub received no token: a proxy in front of the hub may strip the Authorization header',
  'not-yet-valid':
    "the token's issue time is ahead of the hub's clock: check the clocks of the minting host and the hub",
};

/** The one line `agent run` prints when it stops for good. Pure, for tests. */
export function fatalLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const { code, status, reason } = (err ?? {}) as { code?: string; status?: number; reason?: string };
  if (code === 'ERR_AGENT_UNAUTHORIZED') {
    const head = `slime: hub refused the agent token (HTTP ${status ?? 401}): check --token`;
    // hubs older than the reason member only say 401
    if (reason === undefined) return `${head} (expired, revoked, or minted with another secret)`;
    return `${head}: ${REFUSAL_ADVICE[reason] ?? `the hub says ${reason}`} (reason ${reason})`;
  }
  if (code === 'ERR_AGENT_NOT_A_HUB') return `slime: ${message}: check --hub`;
  return `slime: agent stopped: ${message}`;
}

function watch(agent: Agent, logger: Logger, ctx: CliContext, stopAll: () => void): void {
  let fatal = false;
  const onFatal = (err: unknown) => {
    if (fatal) return;
    fatal = true;
    ctx.stderr(`${fatalLine(err)}\n`);
    stopAll();
    ctx.exit(1);
  };
  agent.on('fatal', onFatal);
  agent.ready().then(
    () => logger.info({ hubAgentId: agent.hubAgentId }, 'agent connected'),
    (err: unknown) => {
      // a rejection after our own close() is the normal end, not a failure
      if ((err as { code?: string } | undefined)?.code !== 'ERR_AGENT_CLOSED') onFatal(err);
    },
  );
}

/** `slime agent run`: dials the hub(s) and serves until SIGTERM/SIGINT, then drains. */
export async function runAgent(settings: Settings, ctx: CliContext): Promise<void> {
  const all = agentOptionsFrom(settings);
  const logger = loggerFor(settings, ctx);
  const metricsPort = settings.int('metrics-port', { min: 0, max: 65535 });
  const metrics = metricsPort === undefined ? undefined : createAgentMetrics();
  const tracing = await tracingFrom(settings, 'slime-agent', ctx.env);
  if (tracing) logger.info({ url: tracing.url }, 'exporting traces (OTLP/HTTP)');
  const agents: Agent[] = [];
  for (const options of all) {
    try {
      const agent = createAgent({
        ...options,
        logger,
        ...(tracing ? { tracer: tracing.tracer } : {}),
        ...(metrics ? { onCallResult: (r) => metrics.callFinished(r) } : {}),
      });
      metrics?.bind(agent);
      agents.push(agent);
    } catch (err) {
      for (const a of agents) a.destroy();
      if (err instanceof TypeError || err instanceof RangeError || (err as Error).name === 'AgentError') {
        throw new UsageError(`invalid option: ${(err as Error).message}`, { cause: err });
      }
      throw err;
    }
  }
  const group = closeAll(agents);
  if (metrics && metricsPort !== undefined) {
    const host = settings.string('metrics-host') ?? '127.0.0.1';
    const server = serveMetrics({ port: metricsPort, host, registry: metrics.registry });
    let port = metricsPort;
    try {
      port = (await server.listen()).port;
    } catch (err) {
      group.destroy();
      throw new UsageError(`cannot serve metrics on ${host}:${metricsPort}: ${(err as Error).message}`, {
        exitCode: 1,
      });
    }
    logger.info({ host, port }, 'agent metrics listening');
    const close = group.close;
    group.close = async () => {
      await close();
      await server.close();
    };
  }
  if (tracing) {
    const close = group.close;
    group.close = async () => {
      await close();
      await tracing.shutdown();
    };
  }
  logHeapTuning(logger, ctx);
  for (const agent of agents) watch(agent, logger, ctx, group.destroy);
  for (const agent of agents) agent.start();
  logger.info({ upstreams: agents.length, hubs: settings.list('hub')?.length ?? 1 }, 'agent starting');
  exitOnSignals(group, logger, ctx.exit);
}
