import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdTable } from '../../src/mux/id-table.js';

describe('IdTable', () => {
  it('agrees with a Map under any sequence of sets and deletes', () => {
    const id = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 0xffff_ffff }));
    const op = fc.oneof(
      fc.record({ set: id, value: fc.integer() }),
      fc.record({ del: id }),
      fc.record({ get: id }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const table = new IdTable<number>();
        const model = new Map<number, number>();
        for (const o of ops) {
          if ('set' in o) {
            table.set(o.set, o.value);
            model.set(o.set, o.value);
          } else if ('del' in o) {
            expect(table.delete(o.del)).toBe(model.delete(o.del));
          } else {
            expect(table.get(o.get)).toBe(model.get(o.get));
          }
          expect(table.size).toBe(model.size);
        }
        const ids = [...model.keys()].sort((a, b) => a - b);
        expect(table.values()).toEqual(ids.map((k) => model.get(k)));
        for (const k of ids) expect(table.has(k)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps up with a sliding window of consecutive ids (a connection opening and closing streams)', () => {
    const table = new IdTable<string>();
    for (let id = 1; id <= 100_000; id++) {
      table.set(id, `s${id}`);
      if (id > 40) expect(table.delete(id - 40)).toBe(true);
    }
    expect(table.size).toBe(40);
    expect(table.get(100_000)).toBe('s100000');
    expect(table.get(99_960)).toBeUndefined();
    expect(table.values()[0]).toBe('s99961');
    table.clear();
    expect(table.size).toBe(0);
    expect(table.get(100_000)).toBeUndefined();
  });

  it('refuses ids outside 1..2^32-1', () => {
    const table = new IdTable<number>();
    for (const bad of [0, -1, 1.5, 2 ** 32, Number.NaN]) {
      expect(() => table.set(bad, 1)).toThrow(RangeError);
    }
    expect(table.size).toBe(0);
  });
});
