import { HubError } from '../errors.js';
import { checkFunction } from './check-options.js';
import type { SampleOutcome } from './limiter-types.js';
import {
  createShaperGroup,
  type Group,
  type GroupDeps,
  type Instance,
  instanceOf as instanceOfGroup,
} from './shaper-group.js';
import type { Shaper, ShaperDeps, ShapingGroupStats, ShapingKey, ShapingPermit } from './shaper-types.js';
import type { ShapingConfig } from './shaping-config.js';
import { createShapingGate } from './shaping-gate.js';
import { DEFAULT_RETRY_AFTER_MAX_MS } from './validate-shaping-config.js';

export type {
  Admission,
  AdmissionRequest,
  Shaper,
  ShaperDeps,
  ShapingGroupStats,
  ShapingKey,
  ShapingPermit,
  ShapingResult,
} from './shaper-types.js';

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
  const groupDeps: GroupDeps = { ...deps, now, random };
  const groups: Group[] = config.groups.map((g) => createShaperGroup(g, groupDeps));
  const instanceOf = (group: Group, agent: string | undefined): Instance =>
    instanceOfGroup(group, agent, groupDeps);
  // Built eagerly so a bad option fails here, at load time, rather than on the first request.
  for (const g of groups) instanceOf(g, undefined);

  function groupOf(key: ShapingKey): Group | undefined {
    return (
      groups.find((g) => g.config.match.scope !== undefined && g.config.match.scope === key.scope) ??
      groups.find((g) => g.config.match.scope === undefined)
    );
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

  function holdRefusal(group: Group | undefined): HubError {
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
    holdRefusal: (key) => holdRefusal(groupOf(key)),
    isFastThrottle(key, latencyMs) {
      return groupOf(key)?.throttle?.isFast(latencyMs) === true;
    },
    retried(key) {
      const group = groupOf(key);
      if (group) group.retries++;
    },
    admission(key, request) {
      const group = groupOf(key);
      if (!group) return undefined;
      const inst = instanceOf(group, undefined);
      return createShapingGate(
        {
          now,
          inst,
          bypassPacing: request.critical && group.config.pacing?.bypassCriticalPlus === true,
          holdLeft: () => holdLeft(group),
          holdRefusal: () => holdRefusal(group),
          overloaded: () => overloaded(group, inst),
          rejected: () => {
            inst.rejections++;
            deps.onRejected?.(inst.label);
          },
          permit: group.config.per === 'agent' ? undefined : () => permitFor(group, inst),
        },
        request,
      );
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
