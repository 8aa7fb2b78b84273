import { describe, expect, it } from 'vitest';
import { StreamTable, WriteBudget } from '../src/index.js';

// A stream table and a write budget make their collections with the first stream or waiter (a hub
// holds thousands of idle agent connections that never get one): before that, and after, they
// answer as if the collections had always been there.
describe('connection state made with the first stream', () => {
  it('a stream table with no stream yet is empty, refuses unopened ids, and works from its first stream on', () => {
    const table = new StreamTable<string>();
    expect([table.size, [...table.values()], table.get(1), table.delete(1), table.drain()]).toEqual([
      0,
      [],
      undefined,
      false,
      [],
    ]);
    expect(() => table.route('DATA', 1)).toThrow(/unopened stream 1/);
    table.open(table.nextId(), 'a');
    expect([table.size, table.get(1), table.route('DATA', 1), [...table.values()]]).toEqual([
      1,
      'a',
      'a',
      ['a'],
    ]);
    expect(table.delete(1)).toBe(true);
    expect(table.route('END', 1)).toBeUndefined(); // a late frame
    table.accept(3);
    table.add(3, 'b');
    expect(table.drain()).toEqual(['b']);
    expect(table.size).toBe(0);
  });

  it('a write budget with no waiter yet forgets and clears nothing, then resumes its first waiter', () => {
    const budget = new WriteBudget(10, 5);
    let resumed = 0;
    const w = { resume: () => resumed++ };
    budget.forget(w);
    budget.clear();
    const flushed = budget.queued(20);
    expect(budget.congested).toBe(true);
    budget.wait(w);
    flushed();
    expect([resumed, budget.unflushed]).toEqual([1, 0]);
    budget.queued(20)();
    expect(resumed).toBe(1);
  });
});
