/**
 * Per-application counts of dispatched requests: the hub's one in-flight count. The dispatcher's
 * `active` (its --concurrent limit, the hub's activeRequests, status and metrics) is `total`.
 */
export interface AppLoad {
  /** Requests dispatched and not yet settled, all applications together. */
  readonly total: number;
  started(app: string): void;
  ended(app: string): void;
  /** Every app seen (in flight, served or waiting), with its waiting count from `waiting`. */
  stats(
    waiting: ReadonlyMap<string, number>,
  ): { app: string; inFlight: number; queued: number; served: number }[];
}

export function createAppLoad(): AppLoad {
  // App names come from the policy (declared apps) or are `default`: the map stays small.
  const load = new Map<string, { inFlight: number; served: number }>();
  let total = 0;
  const of = (app: string) => {
    let l = load.get(app);
    if (!l) {
      l = { inFlight: 0, served: 0 };
      load.set(app, l);
    }
    return l;
  };
  return {
    get total() {
      return total;
    },
    started: (app) => {
      of(app).inFlight++;
      total++;
    },
    ended: (app) => {
      const l = of(app);
      l.inFlight--;
      l.served++;
      total--;
    },
    stats(waiting) {
      const names = new Set([...load.keys(), ...waiting.keys()]);
      return [...names].sort().map((app) => ({
        app,
        inFlight: load.get(app)?.inFlight ?? 0,
        queued: waiting.get(app) ?? 0,
        served: load.get(app)?.served ?? 0,
      }));
    },
  };
}
