import type { Logger } from 'pino';
import type { AgentGate } from '../dispatch/agent-gate.js';
import type { AppShare } from '../dispatch/fair-queue.js';
import { HubError } from '../errors.js';
import { checkFunction } from './check-options.js';
import {
  type ConcurrencyLimiter,
  createConcurrencyLimiter,
  type WaiterOptions,
} from './concurrency-limiter.js';
import type { LimiterOptions, SampleOutcome } from './limiter-types.js';
import { createPacer, type Pacer } from './pacer.js';
import { createPromSignal, type PromSignal } from './prom-signal.js';
import type { ShapingConfig, ShapingGroupConfig } from './shaping-config.js';
import { createThrottleLatency, type ThrottleLatency } from './throttle-latency.js';
import { DEFAULT_RETRY_AFTER_MAX_MS } from './validate-shaping-config.js';

/** Which group a request belongs to: its scope and, for `per: 'agent'` groups, the chosen agent. */
export interface ShapingKey {
  scope?: string | undefined;
  agent?: string | undefined;
}

/** How a shaped request ended. `outcome` wins over `status` when both are given. */
export interface ShapingResult {
  latencyMs: number;
  status?: number;
  outcome?: SampleOutcome;
}

export interface ShapingPermit {
  /** Records the answer (limiter and pacer) and frees the slot. Idempotent. */
  release(result?: ShapingResult): void;
}

export type Admission =
  /** Go ahead after `delayMs` (pacing; 0 when not paced). Release the permit when done. */
  | { ok: true; permit: ShapingPermit; delayMs: number }
  /** The group is at its limit: 503 with Retry-After, or wait for `onAvailable` (Slime-Block). */
  | { ok: false; error: HubError };

export interface ShapingGroupStats {
  /** `scope` or `*` for the default group, plus `/agent` for per-agent instances. */
  group: string;
  mode: 'aimd' | 'gradient' | 'fixed' | 'none';
  limit: number | undefined;
  learnedLimit: number | undefined;
  inFlight: number;
  paced: boolean;
  spacingMs: number;
  rejections: number;
  signalFactor: number;
  signalErrors: number;
  // The fields below are always set by `stats()`; optional so that stats built elsewhere (a
  // fixture, an older hub's /status) need not name them.
  /** The limit at which errors began, while the limiter holds growth just below it. */
  cliffLimit?: number | undefined;
  /** Ms left of the pause the upstream asked for (Retry-After on a 429/503); 0 when none. */
  heldMs?: number | undefined;
  /** Upstream Retry-After answers that held the group (group-level instance only). */
  retryAfterHolds?: number | undefined;
  /** Requests re-sent after a fast throttle answer (`retryThrottled`; group-level instance only). */
  throttleRetries?: number | undefined;
  /** Latency under which a throttle status counts as fast, ms, once learned (`retryThrottled`). */
  throttleBoundMs?: number | undefined;
}

export interface ShaperDeps {
  now: () => number;
  random: () => number;
  logger?: Logger;
  fetch?: typeof globalThis.fetch;
  /** A group (its stats label) refused a request at its limit; for metrics. */
  onRejected?: (group: string) => void;
  /** Application weights (the policy's `apps`): requests waiting for a group take turns by them. */
  appShare?: (app: string) => AppShare;
}

interface Group {
  config: ShapingGroupConfig;
  label: string;
  signal: PromSignal | undefined;
  instances: Map<string, Instance>;
  /** Per-agent groups: woken when any agent's limiter may admit again. */
  available: Set<() => void>;
  /** No dispatch before this time (the upstream's Retry-After), in `now` ms. */
  holdUntil: number;
  holds: number;
  retries: number;
  /** What a fast throttle answer is, learned from the group's answers (`retryThrottled` only). */
  throttle: ThrottleLatency | undefined;
}

interface Instance {
  label: string;
  limiter: ConcurrencyLimiter | undefined;
  pacer: Pacer | undefined;
  rejections: number;
  inFlight: number;
  /** The agent left; the instance goes once its last request ends. */
  gone?: boolean;
}

export interface Shaper {
  /** The group config a key falls in, or undefined when it is not shaped. */
  configFor(key: ShapingKey): ShapingGroupConfig | undefined;
  /**
   * Call before dispatching to the group; never blocks. The delay covers pacing and a hold the
   * upstream asked for. `quiet`: a refusal is not counted (a waiter trying again).
   */
  admit(key: ShapingKey, options?: { critical?: boolean; quiet?: boolean }): Admission;
  /**
   * Called synchronously when the key's group may admit again; `front` listeners before the
   * others (a re-queued request goes ahead of the queue). Returns an unsubscribe.
   */
  onAvailable(key: ShapingKey, listener: () => unknown, options?: WaiterOptions): () => void;
  /** Ms left of the group's hold (the upstream's Retry-After); 0 when none. */
  holdLeft(key: ShapingKey): number;
  /**
   * The upstream answered 429/503 with Retry-After `ms`: nothing more is dispatched to the group
   * for that long, capped by `upstreamRetryAfter.maxMs` (ignored when it is false). Returns the
   * hold applied, ms.
   */
  hold(key: ShapingKey, ms: number): number;
  /** The 503 (Retry-After: what is left of the hold) for a request that cannot wait a hold out. */
  holdRefusal(key: ShapingKey): HubError;
  /** Whether an answer this quick is a fast throttle, by the latency the group learned. */
  isFastThrottle(key: ShapingKey, latencyMs: number): boolean;
  /** Counts a request re-sent after a throttle answer (stats). */
  retried(key: ShapingKey): void;
  /**
   * For a `per: 'agent'` group with a limiter: the dispatcher's gate for one request, which admits
   * only agents under their own limit and takes the agent's slot when one is assigned
   * (`onPermit`; a re-dispatch to another agent hands the earlier permit over first). Undefined
   * for other groups.
   */
  agentGate(key: ShapingKey, onPermit: (permit: ShapingPermit, agent: string) => void): AgentGate | undefined;
  /** Drops the per-agent state of an agent that left. */
  forgetAgent(agent: string): void;
  stats(): ShapingGroupStats[];
  /** Starts the Prometheus signals. */
  start(): void;
  close(): Promise<void>;
}

const NOOP_PERMIT: ShapingPermit = { release() {} };
// What a quiet admission returns when refused: nobody reads it, so one instance does.
const QUIET_REFUSAL = new HubError('ERR_HUB_OVERLOADED', 'agent group is at its concurrency limit', {
  retryable: true,
});

/**
 * Owns one limiter and pacer per agent group (or per agent, for `per: 'agent'` groups) built from
 * a validated `shaping` config. It makes no network calls on the request path and never waits:
 * the dispatcher (or `createShapingPolicy`) decides whether a refused request waits or gets 503.
 */
export function createShaper(config: ShapingConfig, deps: ShaperDeps): Shaper {
  if (!config || !Array.isArray(config.groups)) throw new TypeError('config.groups must be an array');
  const now = checkFunction<() => number>('now', deps.now);
  const random = checkFunction<() => number>('random', deps.random);
  const groups: Group[] = config.groups.map((g) => {
    const label = g.match.scope ?? '*';
    const signal = g.signal
      ? createPromSignal({
          ...g.signal,
          now,
          ...(deps.fetch ? { fetch: deps.fetch } : {}),
          ...(deps.logger ? { logger: deps.logger.child({ shapingGroup: label }) } : {}),
        })
      : undefined;
    const group: Group = {
      config: g,
      label,
      signal,
      instances: new Map(),
      available: new Set(),
      holdUntil: Number.NEGATIVE_INFINITY,
      holds: 0,
      retries: 0,
      throttle: g.retryThrottled
        ? createThrottleLatency({
            ...(g.retryThrottled.fastRatio === undefined ? {} : { fastRatio: g.retryThrottled.fastRatio }),
            ...(g.retryThrottled.maxLatencyMs === undefined
              ? {}
              : { maxLatencyMs: g.retryThrottled.maxLatencyMs }),
          })
        : undefined,
    };
    signal?.onChange((factor) => {
      for (const inst of group.instances.values()) inst.limiter?.setCapFactor(factor);
    });
    return group;
  });
  // Built eagerly so a bad option fails here, at load time, rather than on the first request.
  for (const g of groups) instanceOf(g, undefined);

  function groupOf(key: ShapingKey): Group | undefined {
    return (
      groups.find((g) => g.config.match.scope !== undefined && g.config.match.scope === key.scope) ??
      groups.find((g) => g.config.match.scope === undefined)
    );
  }

  function instanceOf(group: Group, agent: string | undefined): Instance {
    const perAgent = group.config.per === 'agent';
    const id = perAgent && agent !== undefined ? agent : '';
    let inst = group.instances.get(id);
    if (inst) return inst;
    const { limiter: l, pacing } = group.config;
    let limiter: ConcurrencyLimiter | undefined;
    // A per-agent group caps each agent, not the group: its group-level instance only paces.
    if (l && (!perAgent || id !== '')) {
      const { mode, ...rest } = l;
      const options = (
        mode === 'gradient'
          ? { ...rest, mode, random, now }
          : mode === 'aimd'
            ? { ...rest, mode, now }
            : { ...rest, mode }
      ) as LimiterOptions;
      limiter = createConcurrencyLimiter(options, deps.appShare ? { share: deps.appShare } : {});
      if (group.signal) limiter.setCapFactor(group.signal.factor);
      if (perAgent)
        limiter.onAvailable(() => {
          for (const listener of [...group.available]) listener();
        });
    }
    const { bypassCriticalPlus: _, ...pacerOptions } = pacing ?? {};
    // Pacing reacts to the group's 5xx share, so per-agent instances feed the group's one pacer.
    const pacer =
      id === ''
        ? pacing
          ? createPacer({ ...pacerOptions, now })
          : undefined
        : instanceOf(group, undefined).pacer;
    inst = {
      label: id === '' ? group.label : `${group.label}/${id}`,
      limiter,
      pacer,
      rejections: 0,
      inFlight: 0,
    };
    group.instances.set(id, inst);
    return inst;
  }

  const holdLeft = (group: Group): number => Math.max(0, group.holdUntil - now());

  function overloaded(group: Group, inst: Instance): HubError {
    inst.rejections++;
    deps.onRejected?.(inst.label);
    return new HubError(
      'ERR_HUB_OVERLOADED',
      `agent group "${inst.label}" is at its concurrency limit${inst.limiter ? ` (${Math.floor(inst.limiter.limit)})` : ''}; send Slime-Block: 1 to wait`,
      { retryAfter: group.config.retryAfterSeconds, retryable: true },
    );
  }

  function forget(inst: Instance): void {
    for (const g of groups) for (const [id, i] of g.instances) if (i === inst) g.instances.delete(id);
  }

  function permitFor(group: Group, inst: Instance): ShapingPermit {
    const slot = inst.limiter?.tryAcquire();
    inst.inFlight++;
    let done = false;
    return {
      release(result) {
        if (done) return;
        done = true;
        inst.inFlight--;
        if (inst.gone && inst.inFlight === 0) forget(inst);
        const outcome: SampleOutcome =
          result?.outcome ??
          (result?.status === undefined ? 'ignore' : result.status >= 500 ? 'error' : 'success');
        if (result?.status !== undefined) {
          inst.pacer?.record(result.status, now());
          group.throttle?.record(result.status, result.latencyMs);
        } else if (outcome === 'error' || outcome === 'timeout')
          inst.pacer?.record(outcome === 'timeout' ? 504 : 502, now());
        slot?.release({ latencyMs: result?.latencyMs ?? 0, outcome });
      },
    };
  }

  return {
    configFor: (key) => groupOf(key)?.config,
    admit(key, options = {}) {
      const group = groupOf(key);
      if (!group) return { ok: true, permit: NOOP_PERMIT, delayMs: 0 };
      const inst = instanceOf(group, key.agent);
      if (inst.limiter && inst.limiter.inFlight >= Math.floor(inst.limiter.limit)) {
        if (options.quiet === true) return { ok: false, error: QUIET_REFUSAL };
        return { ok: false, error: overloaded(group, inst) };
      }
      const bypass = options.critical === true && group.config.pacing?.bypassCriticalPlus === true;
      const permit = permitFor(group, inst);
      const paced = bypass || !inst.pacer ? 0 : inst.pacer.reserve(now());
      // A hold is the upstream's own request: CRITICAL_PLUS does not skip it.
      return { ok: true, permit, delayMs: Math.max(paced, holdLeft(group)) };
    },
    onAvailable(key, listener, options) {
      const group = groupOf(key);
      const limiter = group && instanceOf(group, key.agent).limiter;
      return limiter ? limiter.onAvailable(listener, options) : () => {};
    },
    holdLeft(key) {
      const group = groupOf(key);
      return group ? holdLeft(group) : 0;
    },
    hold(key, ms) {
      const group = groupOf(key);
      const cap = group?.config.upstreamRetryAfter ?? { maxMs: DEFAULT_RETRY_AFTER_MAX_MS };
      if (!group || cap === false || !(ms > 0)) return 0;
      const applied = Math.min(ms, cap.maxMs);
      const until = now() + applied;
      if (until > group.holdUntil) group.holdUntil = until;
      group.holds++;
      deps.logger?.debug(
        { group: group.label, holdMs: applied, askedMs: ms },
        'upstream Retry-After: group held',
      );
      return applied;
    },
    holdRefusal(key) {
      const group = groupOf(key);
      const left = group ? holdLeft(group) : 0;
      if (group) {
        const inst = instanceOf(group, undefined);
        inst.rejections++;
        deps.onRejected?.(inst.label);
      }
      return new HubError(
        'ERR_HUB_OVERLOADED',
        `agent group "${group?.label ?? '*'}" is held for ${Math.ceil(left)} ms at its upstream's request (Retry-After)`,
        { retryAfter: left / 1000, retryable: true },
      );
    },
    isFastThrottle(key, latencyMs) {
      return groupOf(key)?.throttle?.isFast(latencyMs) === true;
    },
    retried(key) {
      const group = groupOf(key);
      if (group) group.retries++;
    },
    agentGate(key, onPermit) {
      const group = groupOf(key);
      if (group?.config.per !== 'agent' || !group.config.limiter) return undefined;
      const admits = (agent: string) => {
        const limiter = instanceOf(group, agent).limiter!;
        return limiter.inFlight < Math.floor(limiter.limit);
      };
      return {
        admits,
        assigned(agent) {
          onPermit(permitFor(group, instanceOf(group, agent)), agent);
        },
        onAvailable(listener) {
          group.available.add(listener);
          return () => group.available.delete(listener);
        },
        refusal: () => overloaded(group, instanceOf(group, undefined)),
      };
    },
    forgetAgent(agent) {
      for (const g of groups) {
        const inst = g.config.per === 'agent' ? g.instances.get(agent) : undefined;
        if (!inst) continue;
        // An agent with requests still in flight keeps its slots counted until they end.
        inst.gone = true;
        if (inst.inFlight === 0) g.instances.delete(agent);
      }
    },
    stats() {
      const out: ShapingGroupStats[] = [];
      for (const g of groups) {
        for (const inst of g.instances.values()) {
          out.push({
            group: inst.label,
            mode: g.config.limiter?.mode ?? 'none',
            limit: inst.limiter?.limit,
            learnedLimit: inst.limiter?.learnedLimit,
            inFlight: inst.inFlight,
            paced: inst.pacer?.state === 'paced',
            spacingMs: inst.pacer?.spacingMs ?? 0,
            rejections: inst.rejections,
            signalFactor: g.signal?.factor ?? 1,
            signalErrors: g.signal?.stats().errors ?? 0,
            cliffLimit: inst.limiter?.cliff,
            heldMs: holdLeft(g),
            retryAfterHolds: inst.label === g.label ? g.holds : 0,
            throttleRetries: inst.label === g.label ? g.retries : 0,
            throttleBoundMs: g.throttle?.boundMs,
          });
        }
      }
      return out;
    },
    start() {
      for (const g of groups) g.signal?.start();
    },
    async close() {
      await Promise.all(groups.map((g) => g.signal?.close()));
    },
  };
}
