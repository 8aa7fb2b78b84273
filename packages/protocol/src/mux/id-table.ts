/**
 * A map from stream ids (integers 1..2^32-1) to values, in flat arrays: open addressing with
 * linear probing and backward-shift deletion (no tombstones).
 *
 * Why not a `Map`: a JS Map whose keys churn (a stream opened and closed per request) rebuilds
 * its hash table every few dozen inserts, and V8 links each old table to its successor (for live
 * iterators) without clearing the old one's entries. Once one table has been promoted to the old
 * generation, that chain runs from it through every later table, and a young-generation GC treats
 * the promoted table as live: every stream any later table held, with its request, survives each
 * scavenge and is promoted in turn. The process then stays in an expensive GC mode (a fifth of
 * all allocation promoted, ~4-6 ms per scavenge, frequent mark-compacts) until a mark-compact
 * happens to cut the chain. Flat arrays have no such link: a replaced array is simply garbage.
 * (docs/bench.md, "Answered: the hub's two GC modes".)
 */
export class IdTable<V> {
  // 0 marks an empty slot: stream ids start at 1.
  #keys = new Uint32Array(8);
  #values: (V | undefined)[] = new Array(8).fill(undefined);
  #mask = 7;
  #shift = 29;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(id: number): V | undefined {
    const keys = this.#keys;
    let i = this.#slot(id);
    for (;;) {
      const k = keys[i];
      if (k === id) return this.#values[i];
      if (k === 0) return undefined;
      i = (i + 1) & this.#mask;
    }
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Adds or replaces the value of `id` (an integer 1..2^32-1; `undefined` is not a value). */
  set(id: number, value: V): void {
    if (!(id >= 1 && id <= 0xffff_ffff && Number.isInteger(id))) {
      throw new RangeError(`id must be an integer 1..2^32-1, got ${id}`);
    }
    if ((this.#size + 1) * 2 > this.#keys.length) this.#resize(this.#keys.length * 2);
    const keys = this.#keys;
    let i = this.#slot(id);
    for (;;) {
      const k = keys[i];
      if (k === id) {
        this.#values[i] = value;
        return;
      }
      if (k === 0) {
        keys[i] = id;
        this.#values[i] = value;
        this.#size++;
        return;
      }
      i = (i + 1) & this.#mask;
    }
  }

  delete(id: number): boolean {
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    let i = this.#slot(id);
    for (;;) {
      const k = keys[i];
      if (k === 0) return false;
      if (k === id) break;
      i = (i + 1) & mask;
    }
    // Backward shift: move later members of the probe run into the gap so lookups never stop
    // early at it, then clear the last gap.
    let gap = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const k = keys[j] as number;
      if (k === 0) break;
      const home = this.#slot(k);
      // k may fill the gap unless its home lies cyclically in (gap, j]
      const stays = gap <= j ? gap < home && home <= j : gap < home || home <= j;
      if (!stays) {
        keys[gap] = k;
        values[gap] = values[j];
        gap = j;
      }
    }
    keys[gap] = 0;
    values[gap] = undefined;
    this.#size--;
    return true;
  }

  /** The values, in ascending id order (a copy: the table may change while it is read). */
  values(): V[] {
    // a typed array sorts numerically
    const ids = this.#keys.filter((k) => k !== 0).sort();
    return Array.from(ids, (id) => this.get(id) as V);
  }

  clear(): void {
    this.#keys.fill(0);
    this.#values.fill(undefined);
    this.#size = 0;
  }

  #slot(id: number): number {
    // Fibonacci hashing: consecutive ids spread over the whole table
    return Math.imul(id, 0x9e3779b1) >>> this.#shift;
  }

  #resize(capacity: number): void {
    const keys = this.#keys;
    const values = this.#values;
    this.#keys = new Uint32Array(capacity);
    this.#values = new Array(capacity).fill(undefined);
    this.#mask = capacity - 1;
    this.#shift = 32 - Math.log2(capacity);
    this.#size = 0;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as number;
      if (k !== 0) this.set(k, values[i] as V);
    }
    // the old array may already be in the old generation: leave it holding nothing
    values.fill(undefined);
  }
}
