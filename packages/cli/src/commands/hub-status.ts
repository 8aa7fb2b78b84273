import type { CliContext } from '../context.js';
import type { Settings } from '../settings.js';
import { textTable } from '../text-table.js';
import { UsageError } from '../usage-error.js';

interface StatusAgent {
  name: string;
  id: string;
  scopes: string[];
  slots: number;
  inFlight: number;
  state: string;
  /** Absent from hubs older than the health model. */
  health?: string;
  /** `slime` or `go` (a Go Slime Proxy agent's worker); absent from hubs before --accept-go-tokens. */
  protocol?: string;
  connectedSeconds: number;
  remoteAddress: string;
}

interface StatusGroup {
  group: string;
  mode: string;
  limit?: number;
  inFlight: number;
  paced: boolean;
  spacingMs: number;
  rejections: number;
  // Absent from hubs before the cliff memory, Retry-After holds and throttle retries (#21).
  cliffLimit?: number;
  heldMs?: number;
  retryAfterHolds?: number;
  throttleRetries?: number;
  throttleBoundMs?: number;
}

interface StatusApp {
  app: string;
  weight?: number;
  inFlight: number;
  queued: number;
  served: number;
}

interface Status {
  agents: StatusAgent[];
  queueLength: number;
  activeRequests: number;
  /** `errorShare` and friends are absent from hubs before the status page's 5xx share. */
  requests?: { total: number; perSecond: number; errorShare?: number; errorsPerSecond?: number };
  shaping?: StatusGroup[];
  /** Absent from hubs before applications (#22), and before any request. */
  apps?: StatusApp[];
}

function since(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
}

function num(v: number | undefined | null, f: (n: number) => number = (n) => n): string {
  return v === undefined || v === null ? '-' : String(f(v));
}

/** 0.0123 -> "1.2%"; a share too small for one decimal keeps two so it does not read as 0. */
function percent(share: number): string {
  const p = share * 100;
  return `${p.toFixed(p > 0 && p < 0.1 ? 2 : 1)}%`;
}

/** Renders the agents (and shaped groups, when any) as aligned text tables. Pure, for tests. */
export function formatStatus(status: Status): string {
  // During a migration from the Go Slime Proxy, a PROTOCOL column tells the Go agents' workers
  // apart; it goes away with the last of them.
  const goAgents = status.agents.filter((a) => a.protocol === 'go').length;
  const header = ['NAME', 'ID', 'SCOPES', 'SLOTS', 'INFLIGHT', 'STATE', 'HEALTH', 'SINCE', 'REMOTE'];
  if (goAgents > 0) header.push('PROTOCOL');
  const rows = status.agents.map((a) => [
    a.name,
    a.id,
    a.scopes.length ? a.scopes.join(',') : '(any)',
    String(a.slots),
    String(a.inFlight),
    a.state,
    a.health ?? 'ok',
    since(a.connectedSeconds),
    a.remoteAddress,
    ...(goAgents > 0 ? [a.protocol ?? 'slime'] : []),
  ]);
  const go = goAgents > 0 ? `  go agents ${goAgents}` : '';
  const rate = status.requests ? `  ${status.requests.perSecond} req/s` : '';
  const share = status.requests?.errorShare;
  const errors = typeof share === 'number' ? `  5xx ${percent(share)}` : '';
  const groups = status.shaping ?? [];
  // The cliff, Retry-After hold and throttle-retry figures, when the hub reports them.
  const extra = groups.some((g) => g.heldMs !== undefined || g.retryAfterHolds !== undefined);
  const shaping =
    groups.length === 0
      ? ''
      : `\n${textTable(
          [
            'GROUP',
            'MODE',
            'LIMIT',
            'INFLIGHT',
            'PACING',
            'REFUSED',
            ...(extra ? ['CLIFF', 'HOLD', 'HOLDS', 'RETRIED', 'FAST<'] : []),
          ],
          groups.map((g) => [
            g.group,
            g.mode,
            g.limit === undefined || g.limit === null ? '-' : String(Math.floor(g.limit)),
            String(g.inFlight),
            g.paced ? `paced ${g.spacingMs}ms` : 'normal',
            String(g.rejections),
            ...(extra
              ? [
                  num(g.cliffLimit, Math.floor),
                  g.heldMs ? `${Math.ceil(g.heldMs)}ms` : '-',
                  num(g.retryAfterHolds),
                  num(g.throttleRetries),
                  g.throttleBoundMs === undefined || g.throttleBoundMs === null
                    ? '-'
                    : `${Math.round(g.throttleBoundMs)}ms`,
                ]
              : []),
          ]),
        )}\n`;
  const apps = status.apps ?? [];
  const appTable =
    apps.length === 0
      ? ''
      : `\n${textTable(
          ['APP', 'WEIGHT', 'INFLIGHT', 'QUEUED', 'SERVED'],
          apps.map((a) => [a.app, num(a.weight), String(a.inFlight), String(a.queued), String(a.served)]),
        )}\n`;
  return `${textTable(header, rows)}\n\nagents ${status.agents.length}  queue ${status.queueLength}  in flight ${status.activeRequests}${rate}${errors}${go}\n${shaping}${appTable}`;
}

/**
 * Whether `base` is a hub's client port: it answers `GET /_slime/health` with the hub's health
 * object, where the admin API wants a token. Asked first, without the token, so an admin token
 * is never sent to the client port (which forwards unknown paths to upstreams).
 */
async function isClientPort(base: string): Promise<boolean> {
  try {
    const res = await fetch(`${base}/_slime/health`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    if (res.status !== 200) return false;
    const doc = JSON.parse(text) as { status?: unknown; agents?: unknown } | null;
    return doc?.status === 'ok' && typeof doc.agents === 'number';
  } catch {
    // unreachable or not JSON: the status request below says what is wrong
    return false;
  }
}

/** `slime hub status`: the hub's agents table from its admin API. */
export async function hubStatus(settings: Settings, ctx: CliContext): Promise<void> {
  const admin = (settings.string('admin') ?? 'http://127.0.0.1:8081').replace(/\/+$/, '');
  const token = settings.requireString('admin-token');
  let url: URL;
  try {
    url = new URL(`${admin}/status`);
  } catch {
    throw new UsageError(`invalid --admin "${admin}": expected an http(s) URL`);
  }
  if (await isClientPort(admin)) {
    throw new UsageError(
      `${admin} is the hub's client port, not its admin API: give --admin the admin port (the hub's --admin-port, 8081 by default)`,
      { exitCode: 1 },
    );
  }
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  } catch (err) {
    throw new UsageError(`cannot reach the admin API at ${admin}: ${(err as Error).message}`, {
      exitCode: 1,
    });
  }
  if (res.status === 401) {
    await res.body?.cancel();
    throw new UsageError('the admin API refused the token (401): check --admin-token', { exitCode: 1 });
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new UsageError(`the admin API answered ${res.status}`, { exitCode: 1 });
  }
  const text = await res.text();
  if (settings.bool('json')) {
    ctx.stdout(`${text}\n`);
    return;
  }
  ctx.stdout(formatStatus(JSON.parse(text) as Status));
}
