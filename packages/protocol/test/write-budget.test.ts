import { describe, expect, it } from 'vitest';
import { WriteBudget } from '../src/index.js';

describe('WriteBudget', () => {
  it('is congested above the high water mark and resumes waiters at the low one, once', () => {
    const budget = new WriteBudget(100, 40);
    let resumed = 0;
    const w = { resume: () => resumed++ };
    const a = budget.queued(60);
    const b = budget.queued(50);
    expect(budget.congested).toBe(true);
    budget.wait(w);
    a(); // 50 left: still above low water
    expect(resumed).toBe(0);
    expect(budget.congested).toBe(false);
    b(); // 0 left
    expect(resumed).toBe(1);
    budget.queued(10)();
    expect(resumed).toBe(1);
  });

  it('forgets a waiter that ended and drops all on clear', () => {
    const budget = new WriteBudget(10, 0);
    let resumed = 0;
    const w1 = { resume: () => resumed++ };
    const w2 = { resume: () => resumed++ };
    const done = budget.queued(20);
    budget.wait(w1);
    budget.wait(w2);
    budget.forget(w1);
    budget.clear();
    done();
    expect(resumed).toBe(0);
    expect(budget.unflushed).toBe(0);
  });

  it('validates its marks', () => {
    expect(() => new WriteBudget(10, 20)).toThrow(RangeError);
    expect(() => new WriteBudget(10, -1)).toThrow(RangeError);
  });
});
