import type { Logger } from 'pino';
import type { HubInternals } from '../hub-types.js';
import type { HubOptions } from '../options.js';
import type { Timers } from '../pipeline/timers.js';
import { shareOf } from './app-share.js';
import type { DispatchAgent } from './dispatch-types.js';
import { Dispatcher } from './dispatcher.js';
import { createOutlierDetector, type OutlierDetector } from './outlier-ejection.js';

export interface HubDispatchDeps {
  now: () => number;
  log: Logger;
  /** Housekeeping timers (ejection windows, queue deadlines): they never keep the process up. */
  timers: Timers;
  /** The agents known by an id now (connections and Go workers), to wake when one returns. */
  agentsWithId(id: string): Iterable<DispatchAgent>;
}

/**
 * The hub's dispatcher and the outlier detector it consults: the agents a request may go to, the
 * one wait queue, and the agents taken out of it for a while.
 */
export function createHubDispatch(
  options: HubOptions,
  internals: HubInternals,
  deps: HubDispatchDeps,
): { dispatcher: Dispatcher; outliers: OutlierDetector } {
  const { now, log, timers } = deps;
  const outliers = createOutlierDetector(options.outlierDetection ?? {}, {
    now,
    setTimer: timers.set,
    clearTimer: timers.clear,
    onEject: (agentId, untilMs, reason) => {
      log.warn(
        { agent: agentId, until: new Date(untilMs).toISOString(), reason },
        'agent ejected from dispatch',
      );
      internals.onAgentEjected?.(agentId, untilMs, reason);
    },
    onReturn: (agentId) => {
      for (const agent of deps.agentsWithId(agentId)) dispatcher.capacity(agent);
    },
  });
  const dispatcher = new Dispatcher({
    isEjected: (agent) => outliers.isEjected(agent.id),
    concurrent: options.concurrent,
    maxQueue: options.maxQueue ?? 10_000,
    now,
    log,
    timers,
    ...(internals.onWait ? { onWait: internals.onWait } : {}),
    ...(internals.apps ? { share: shareOf(internals.apps) } : {}),
  });
  return { dispatcher, outliers };
}
