import type { Timers } from '../../src/pipeline/timers.js';

/** A clock the test moves (fakeClock has this shape). */
export interface SteppedClock {
  now(): number;
  advance(ms: number): void;
}

/**
 * Timers that fire only when the test advances them: no sleeps, no fake global clock. With a
 * `clock`, advancing moves it too, so code reading that clock and these timers agrees.
 */
export function manualTimers(clock?: SteppedClock) {
  let own = 0;
  const now = () => (clock ? clock.now() : own);
  let next = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    set(fn, ms) {
      const id = ++next;
      pending.set(id, { at: now() + ms, fn });
      return id;
    },
    clear: (id) => void pending.delete(id as number),
  };
  return {
    timers,
    get pending() {
      return pending.size;
    },
    advance(ms: number) {
      if (clock) clock.advance(ms);
      else own += ms;
      for (const [id, t] of [...pending]) {
        if (t.at <= now()) {
          pending.delete(id);
          t.fn();
        }
      }
    },
  };
}
