import type { Readable } from 'node:stream';
import type { HeaderList } from '@slime/protocol';
import { clientGone, HubError } from '../errors.js';
import { createAttempt } from '../pipeline/attempt.js';
import type { Downstream, Policy, ProxyResponse, RequestContext, RouteTarget } from '../pipeline/context.js';
import { GLOBAL_TIMERS, type Timers } from '../pipeline/timers.js';
import { parseWindow } from '../policy/duration.js';
import { compileMatch, type Matcher } from '../policy/match.js';
import { type RequestView, viewOf } from '../policy/request-view.js';
import { type BodySpool, createBodySpool, createSpoolBudget, type SpoolBudget } from './body-spool.js';
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_TRY_TIMEOUT_MS,
  type FallbackEndpoint,
  type FallbackRule,
} from './fallback-config.js';
import { compileOn, outcomeOfError, type TryOutcome } from './outcome.js';
import { compileTarget, describeTarget } from './target.js';

/** Outcome labels of `slime_fallback_attempts_total`. */
export type AttemptOutcome = 'ok' | 'status' | 'no-agent' | 'timeout' | 'error' | 'skipped-loop';

export interface FallbackDeps {
  /** One call per endpoint considered (metrics). */
  onAttempt?: ((outcome: AttemptOutcome) => void) | undefined;
  /** Bytes all requests' replay copies may hold together. Default 256 MiB. */
  spoolBudget?: SpoolBudget | undefined;
  /** Timers for the per-try deadlines; default the global ones. */
  timers?: Timers | undefined;
}

export const DEFAULT_SPOOL_BUDGET_BYTES = 256 * 1024 * 1024;

interface CompiledEndpoint {
  readonly target: RouteTarget;
  readonly label: string;
  readonly headers: HeaderList;
  readonly params: ReadonlyArray<[string, string]>;
  readonly timeoutMs: number;
}

interface CompiledRule {
  readonly name: string;
  readonly match: Matcher;
  readonly listed: (o: TryOutcome) => boolean;
  readonly endpoints: readonly CompiledEndpoint[];
  readonly nonIdempotent: boolean;
  readonly maxBodyBytes: number;
  readonly primaryTimeoutMs: number | undefined;
}

/** A try that did not succeed: the response it gave, or the error it failed with. */
type Failure = { result: ProxyResponse; error?: undefined } | { error: HubError; result?: undefined };

// RFC 9110 §9.2.2: repeating these has the same effect as sending them once.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

function compileEndpoint(e: FallbackEndpoint, ruleTimeoutMs: number): CompiledEndpoint {
  const target = compileTarget(e.to);
  return {
    target,
    label: describeTarget(target),
    headers: Object.entries(e.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
    params: Object.entries(e.params ?? {}),
    timeoutMs: e.timeout === undefined ? ruleTimeoutMs : parseWindow(e.timeout)!,
  };
}

function compileRule(rule: FallbackRule, index: number): CompiledRule {
  const timeoutMs = rule.timeout === undefined ? DEFAULT_TRY_TIMEOUT_MS : parseWindow(rule.timeout)!;
  return {
    name: rule.name ?? `fallback[${index}]`,
    match: compileMatch(rule.match),
    listed: compileOn(rule.on),
    endpoints: rule.endpoints.map((e) => compileEndpoint(e, timeoutMs)),
    nonIdempotent: rule.nonIdempotent === true,
    maxBodyBytes: rule.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    primaryTimeoutMs: rule.primaryTimeout === undefined ? undefined : parseWindow(rule.primaryTimeout),
  };
}

/** The endpoint's params are already on the request: it came from this fallback, do not loop. */
const loops = (e: CompiledEndpoint, view: RequestView) =>
  e.params.length > 0 && e.params.every(([k, v]) => view.param(k).includes(v));

function withParams(target: string, params: ReadonlyArray<[string, string]>): string {
  if (params.length === 0) return target;
  const extra = new URLSearchParams(params as [string, string][]).toString();
  const q = target.indexOf('?');
  if (q === -1) return `${target}?${extra}`;
  return q === target.length - 1 ? `${target}${extra}` : `${target}&${extra}`;
}

function withHeaders(base: HeaderList, extra: HeaderList): HeaderList {
  if (extra.length === 0) return base;
  const names = new Set(extra.map(([k]) => k));
  return [...base.filter(([k]) => !names.has(k)), ...extra];
}

function contentLength(ctx: RequestContext): number | undefined {
  const v = ctx.req.headers['content-length'];
  return typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : undefined;
}

/**
 * Compiles validated fallback rules into the fallback policy, a retry interceptor (as undici's):
 * the first rule whose match holds applies, and the policy then serves the request itself through
 * `ctx.downstream` (shaping + dispatch), one fresh Attempt per try. The first try is the request as
 * the pipeline would send it; when its outcome is listed in `on`, each endpoint is tried in turn
 * with its own route, target, headers, deadline and a replay of the body, until one gives an
 * outcome not listed. If none does, the last failure is returned as it was (status and body), with
 * `Slime-Fallback-Attempts`. No rule applies: `next()`, and the pipeline sends the request once.
 */
export function compileFallback(rules: readonly FallbackRule[], deps: FallbackDeps = {}): Policy {
  const compiled = rules.map(compileRule);
  const { onAttempt } = deps;
  const timers = deps.timers ?? GLOBAL_TIMERS;
  const budget = deps.spoolBudget ?? createSpoolBudget(DEFAULT_SPOOL_BUDGET_BYTES);

  return async function fallback(ctx, next) {
    const spools: BodySpool[] = [];
    try {
      return await run(ctx, next, spools);
    } finally {
      // whatever happened, the replay copy and its share of the budget go now
      for (const s of spools) s.release();
    }
  };

  async function run(ctx: RequestContext, next: () => Promise<void>, spools: BodySpool[]): Promise<void> {
    const view = viewOf(ctx);
    const rule = compiled.find((r) => r.match(view));
    if (!rule) return next();
    const log = ctx.log;
    if (!rule.nonIdempotent && !IDEMPOTENT.has(ctx.method)) {
      ctx.notes.fallback = 'method-not-idempotent';
      return next();
    }
    const known = contentLength(ctx);
    if (ctx.body && known !== undefined && known > rule.maxBodyBytes) {
      log.info(
        { rule: rule.name, bytes: known, limit: rule.maxBodyBytes },
        'fallback off: body too large to replay',
      );
      ctx.notes.fallback = 'body-too-large';
      return next();
    }
    const downstream = ctx.downstream;
    if (!downstream) throw new HubError('ERR_HUB_INTERNAL', 'fallback runs before the downstream is set');
    const spool = ctx.body ? createBodySpool(ctx.body, rule.maxBodyBytes, budget) : undefined;
    if (spool) spools.push(spool);

    let failure: Failure;
    // The primary try may get a deadline of its own; past it the try is cancelled like a client
    // that left, and counts as `timeout`.
    const clientSignal = ctx.signal;
    const deadline = rule.primaryTimeoutMs === undefined ? undefined : new AbortController();
    const deadlineTimer = deadline && timers.set(() => deadline.abort(), rule.primaryTimeoutMs!);
    const primary = createAttempt(ctx, {
      body: spool ? spool.first : ctx.body,
      ...(deadline ? { signal: AbortSignal.any([clientSignal, deadline.signal]) } : {}),
    });
    try {
      const result = await downstream(ctx, primary);
      if (!rule.listed({ status: result.status })) {
        spool?.release();
        ctx.result = result;
        return;
      }
      failure = { result };
    } catch (caught) {
      const err =
        deadline?.signal.aborted && !clientSignal.aborted
          ? new HubError(
              'ERR_HUB_UPSTREAM_TIMEOUT',
              `no response head within the primary timeout (${rule.primaryTimeoutMs} ms)`,
            )
          : caught;
      const outcome = outcomeOfError(err);
      if (!outcome || !rule.listed(outcome)) {
        spool?.release();
        throw err;
      }
      failure = { error: err as HubError };
    } finally {
      if (deadlineTimer !== undefined) timers.clear(deadlineTimer);
    }

    let replay: (() => Readable) | null = null;
    if (spool) {
      replay = await spool.complete(clientSignal);
      if (!replay) {
        if (clientSignal.aborted) throw clientGone();
        log.info(
          { rule: rule.name, limit: rule.maxBodyBytes, budgetUsed: budget.used },
          'fallback off: body larger than the replay limit, or the hub-wide replay budget is spent',
        );
        ctx.notes.fallback = 'body-too-large';
        return finish(ctx, failure);
      }
    }

    let tries = 0;
    ctx.notes.fallback = rule.name;
    ctx.responseHeaders['slime-fallback-attempts'] = '0';
    for (const endpoint of rule.endpoints) {
      if (loops(endpoint, view)) {
        onAttempt?.('skipped-loop');
        log.debug(
          { rule: rule.name, endpoint: endpoint.label },
          'fallback endpoint skipped: its params are already on the request',
        );
        continue;
      }
      failure.result?.body.discard('fallback tries another endpoint');
      tries++;
      ctx.responseHeaders['slime-fallback-attempts'] = String(tries);
      const outcome = await tryEndpoint(ctx, downstream, endpoint, tries, replay);
      failure = outcome.failure;
      const listed = rule.listed(outcome.outcome);
      onAttempt?.(!listed ? 'ok' : (outcome.outcome.name ?? (failure.result ? 'status' : 'error')));
      log.info(
        {
          rule: rule.name,
          endpoint: endpoint.label,
          try: tries,
          status: outcome.outcome.status,
          outcome: outcome.outcome.name,
        },
        listed ? 'fallback endpoint failed' : 'fallback endpoint answered',
      );
      if (!listed) return finish(ctx, failure);
    }
    return finish(ctx, failure);
  }

  /** One fallback try: a fresh attempt at `endpoint`, cut at the endpoint's timeout. */
  async function tryEndpoint(
    ctx: RequestContext,
    downstream: Downstream,
    endpoint: CompiledEndpoint,
    index: number,
    replay: (() => Readable) | null,
  ): Promise<{ outcome: TryOutcome; failure: Failure }> {
    const timer = new AbortController();
    const timeout = timers.set(() => timer.abort(), endpoint.timeoutMs);
    const attempt = createAttempt(ctx, {
      index,
      route: endpoint.target,
      // an agent endpoint picks its own scope (none: any agent); a URL keeps the request's
      scope: endpoint.target.kind === 'agents' ? endpoint.target.scope : ctx.scope,
      target: withParams(ctx.target, endpoint.params),
      headers: withHeaders(ctx.upstreamHeaders, endpoint.headers),
      body: replay ? replay() : null,
      signal: AbortSignal.any([ctx.signal, timer.signal]),
    });
    try {
      const result = await downstream(ctx, attempt);
      return { outcome: { status: result.status }, failure: { result } };
    } catch (err) {
      if (ctx.signal.aborted) throw clientGone();
      const error = timer.signal.aborted
        ? new HubError(
            'ERR_HUB_UPSTREAM_TIMEOUT',
            `fallback endpoint ${endpoint.label} gave no answer within ${endpoint.timeoutMs} ms`,
          )
        : err instanceof HubError
          ? err
          : new HubError('ERR_HUB_UPSTREAM_ERROR', 'fallback endpoint failed', { cause: err });
      return { outcome: outcomeOfError(error) ?? { status: error.status }, failure: { error } };
    } finally {
      timers.clear(timeout);
    }
  }

  /** Returns what the last try gave: its response, or its error (problem+json). */
  async function finish(ctx: RequestContext, failure: Failure): Promise<void> {
    if (failure.error) throw failure.error;
    ctx.result = failure.result;
  }
}
