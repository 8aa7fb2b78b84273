/**
 * A simulated upstream with `capacity` workers and a FIFO queue in front of them, like a GPU
 * inference server: up to `capacity` requests run at once in `serviceMs` (+-10%); more wait in
 * its queue (latency grows); past `capacity + queue` it answers 500 at once. Work it holds beyond
 * its capacity also slows every request down by `penalty` per extra request in units of capacity
 * (memory pressure, context switches), so an unshaped overload loses goodput as real servers do.
 */
export interface UpstreamModel {
  capacity: number;
  serviceMs: number;
  queue: number;
  penalty: number;
}

export interface UpstreamAnswer {
  status: number;
  latencyMs: number;
}

export function createSyntheticUpstream(model: UpstreamModel, random: () => number) {
  // Times at which each worker frees up, and the finish times of everything the server holds.
  let workers = new Array<number>(model.capacity).fill(0);
  let held: number[] = [];
  return {
    /** Best goodput the model can give, requests per second. */
    get bestRate(): number {
      return (model.capacity * 1000) / model.serviceMs;
    },
    setCapacity(capacity: number): void {
      model.capacity = capacity;
      workers = new Array<number>(capacity).fill(0);
    },
    send(now: number): UpstreamAnswer {
      held = held.filter((t) => t > now);
      if (held.length >= model.capacity + model.queue) return { status: 500, latencyMs: 2 };
      const excess = Math.max(0, held.length + 1 - model.capacity) / model.capacity;
      const service = model.serviceMs * (0.9 + 0.2 * random()) * (1 + model.penalty * excess);
      let idx = 0;
      for (let i = 1; i < workers.length; i++) if (workers[i]! < workers[idx]!) idx = i;
      const start = Math.max(now, workers[idx]!);
      const finish = start + service;
      workers[idx] = finish;
      held.push(finish);
      return { status: 200, latencyMs: finish - now };
    },
  };
}

/** mulberry32: a small seeded PRNG so every run of the simulation is the same. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
