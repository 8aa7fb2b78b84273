import { type AdmissionCheck, type AdmissionGate, WAIT_FOR_CAPACITY } from '../dispatch/admission-gate.js';
import type { HubError } from '../errors.js';
import type { Instance } from './shaper-group.js';
import type { AdmissionRequest, ShapingPermit } from './shaper-types.js';

/** What a gate needs of its group, from the shaper. */
export interface GateHost {
  now: () => number;
  /** The group-level instance: its limiter (none for per-agent groups) and pacer. */
  inst: Instance;
  /** Whether this request skips pacing (CRITICAL_PLUS with bypassCriticalPlus). */
  bypassPacing: boolean;
  /** Ms left of the group's hold (the upstream's Retry-After). */
  holdLeft(): number;
  /** The 503 for a request that cannot wait the hold out (counts a rejection). */
  holdRefusal(): HubError;
  /** The 503 for a request that will not wait at the group's limit (counts a rejection). */
  overloaded(): HubError;
  /** Counts a refusal of a request that waits. */
  rejected(): void;
  /** Takes the group's slot; undefined for a per-agent group (its agents' gate takes theirs). */
  permit: (() => ShapingPermit) | undefined;
}

/**
 * Shaping's admission for one try of a request: the upstream's hold, the group's concurrency
 * limit, then pacing. It never waits: the dispatcher keeps the request in its queue until the
 * gate admits it. Once admitted it stays admitted (a re-dispatch after an agent loss keeps its slot).
 */
export function createShapingGate(host: GateHost, request: AdmissionRequest): AdmissionGate {
  const { inst } = host;
  const limiter = inst.limiter;
  const pacer = host.bypassPacing ? undefined : inst.pacer;
  let admitted = false;
  // A re-queued request was counted when it first waited.
  let counted = request.requeue !== undefined;
  let prepared = false;
  /** When it first waited for a time (pacing, a hold) rather than for a slot. */
  let timedSince: number | undefined;

  function check(): AdmissionCheck {
    if (admitted) return 'admit';
    const t = host.now();
    const held = host.holdLeft();
    if (held > 0) {
      const left = request.budgetLeft();
      if (!request.block || (left !== undefined && held > left)) return host.holdRefusal();
      timedSince ??= t;
      return { retryAt: t + held };
    }
    if (limiter && limiter.inFlight >= Math.floor(limiter.limit)) {
      if (!request.block) return host.overloaded();
      if (!counted) {
        counted = true;
        host.rejected();
      }
      return WAIT_FOR_CAPACITY;
    }
    // Pacing delays every request, waiting or not: it spaces them, it refuses none.
    const at = pacer ? pacer.readyAt(t) : t;
    if (at > t) {
      timedSince ??= t;
      return { retryAt: at };
    }
    return 'admit';
  }

  return {
    check,
    admitted() {
      if (admitted) return;
      admitted = true;
      const t = host.now();
      pacer?.reserve(t);
      if (timedSince !== undefined) request.onPaced?.(t - timedSince);
      const permit = host.permit?.();
      if (permit) request.onPermit(permit);
    },
    source: inst.wake,
    ...(request.requeue
      ? {
          front: true,
          prepare() {
            if (prepared) return;
            prepared = true;
            request.requeue!();
          },
        }
      : {}),
    waitingFor: 'no shaping slot',
  };
}
