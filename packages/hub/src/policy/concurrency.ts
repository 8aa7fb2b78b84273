/** In-flight counts per (rule, key value); an entry exists only while something is in flight. */
export interface InFlight {
  tryAcquire(id: string, max: number): boolean;
  release(id: string): void;
  count(id: string): number;
}

export function createInFlight(): InFlight {
  const counts = new Map<string, number>();
  return {
    tryAcquire(id, max) {
      const n = counts.get(id) ?? 0;
      if (n >= max) return false;
      counts.set(id, n + 1);
      return true;
    },
    release(id) {
      const n = counts.get(id) ?? 0;
      if (n <= 1) counts.delete(id);
      else counts.set(id, n - 1);
    },
    count(id) {
      return counts.get(id) ?? 0;
    },
  };
}
