/** Something that stopped reading its source while the socket was congested. */
export interface Resumable {
  resume(): void;
}

/**
 * Counts bytes handed to a WebSocket and not yet flushed, for both ends of the protocol: above
 * `highWater` the socket is congested and streams stop reading their sources (they `wait`);
 * once the backlog drains to `lowWater` every waiter resumes. Pure bookkeeping: the caller does
 * the writing and reports each write's completion through the returned callback.
 */
export class WriteBudget<W extends Resumable = Resumable> {
  readonly #high: number;
  readonly #low: number;
  #unflushed = 0;
  // Made with the first waiter: most connections (idle agents) never have one.
  #waiting: Set<W> | null = null;

  constructor(highWater: number, lowWater: number) {
    if (!(lowWater >= 0 && highWater >= lowWater)) throw new RangeError('need 0 <= lowWater <= highWater');
    this.#high = highWater;
    this.#low = lowWater;
  }

  get congested(): boolean {
    return this.#unflushed > this.#high;
  }

  get unflushed(): number {
    return this.#unflushed;
  }

  /** Counts `n` bytes as written; call the returned function once they are flushed. */
  queued(n: number): () => void {
    this.#unflushed += n;
    return () => {
      this.#unflushed -= n;
      if (this.#waiting !== null && this.#waiting.size > 0 && this.#unflushed <= this.#low) {
        const waiting = [...this.#waiting];
        this.#waiting.clear();
        for (const w of waiting) w.resume();
      }
    };
  }

  /** `w` resumes when the backlog drains. */
  wait(w: W): void {
    this.#waiting ??= new Set();
    this.#waiting.add(w);
  }

  /** `w` ended: it no longer waits. */
  forget(w: W): void {
    this.#waiting?.delete(w);
  }

  /** The connection closed: nobody will be resumed. */
  clear(): void {
    this.#waiting?.clear();
  }
}
