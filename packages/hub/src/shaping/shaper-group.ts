import { NO_WAKE, type WakeSource } from '../dispatch/admission-gate.js';
import { type ConcurrencyLimiter, createConcurrencyLimiter } from './concurrency-limiter.js';
import type { LimiterOptions } from './limiter-types.js';
import { createPacer, type Pacer } from './pacer.js';
import { createPromSignal, type PromSignal } from './prom-signal.js';
import type { ShaperDeps } from './shaper-types.js';
import type { ShapingGroupConfig } from './shaping-config.js';
import { createThrottleLatency, type ThrottleLatency } from './throttle-latency.js';

/** What the group's instances share: the clock and the randomness. */
export interface GroupDeps extends Pick<ShaperDeps, 'fetch' | 'logger' | 'timers'> {
  now: () => number;
  random: () => number;
}

export interface Group {
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

export interface Instance {
  label: string;
  limiter: ConcurrencyLimiter | undefined;
  pacer: Pacer | undefined;
  rejections: number;
  inFlight: number;
  /** What wakes the dispatcher's queue when the instance's limiter frees a slot. */
  wake: WakeSource;
  /** The agent left; the instance goes once its last request ends. */
  gone?: boolean;
}

/** One shaping group (a `shaping.groups` entry) with its Prometheus signal and throttle latency. */
export function createShaperGroup(g: ShapingGroupConfig, deps: GroupDeps): Group {
  const { now } = deps;
  const label = g.match.scope ?? '*';
  const signal = g.signal
    ? createPromSignal({
        ...g.signal,
        now,
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
        ...(deps.timers ? { timers: deps.timers } : {}),
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
}

/**
 * The limiter and pacer of a group, or of one agent in a `per: 'agent'` group; built on first use.
 */
export function instanceOf(group: Group, agent: string | undefined, deps: GroupDeps): Instance {
  const { now, random } = deps;
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
    limiter = createConcurrencyLimiter(options);
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
      : instanceOf(group, undefined, deps).pacer;
  inst = {
    label: id === '' ? group.label : `${group.label}/${id}`,
    limiter,
    pacer,
    wake: limiter ? { onAvailable: (listener) => limiter.onAvailable(listener) } : NO_WAKE,
    rejections: 0,
    inFlight: 0,
  };
  group.instances.set(id, inst);
  return inst;
}
