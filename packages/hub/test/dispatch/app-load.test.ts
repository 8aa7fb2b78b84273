import { describe, expect, it } from 'vitest';
import { createAppLoad } from '../../src/dispatch/app-load.js';

describe('AppLoad: the one in-flight count', () => {
  it('counts per application, the total is their sum, and served counts what ended', () => {
    const load = createAppLoad();
    load.started('a');
    load.started('a');
    load.started('b');
    expect(load.total).toBe(3);
    load.ended('a');
    expect(load.total).toBe(2);
    expect(load.stats(new Map([['c', 4]]))).toEqual([
      { app: 'a', inFlight: 1, queued: 0, served: 1 },
      { app: 'b', inFlight: 1, queued: 0, served: 0 },
      { app: 'c', inFlight: 0, queued: 4, served: 0 },
    ]);
  });
});
