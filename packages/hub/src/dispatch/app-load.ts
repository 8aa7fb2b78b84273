/** Per-application counts of dispatched requests, for status and metrics. */
export interface AppLoad {
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
  const of = (app: string) => {
    let l = load.get(app);
    if (!l) {
      l = { inFlight: 0, served: 0 };
      load.set(app, l);
    }
    return l;
  };
  return {
    started: (app) => {
      of(app).inFlight++;
    },
    ended: (app) => {
      const l = of(app);
      l.inFlight--;
      l.served++;
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
