import { describe, expect, it } from 'vitest';
import { FrameWriter, WriteBudget } from '../src/index.js';

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

describe('FrameWriter', () => {
  function setup() {
    const log: string[] = [];
    const pending: Array<() => void> = [];
    const scheduled: Array<() => void> = [];
    const writer = new FrameWriter({
      send: (bytes, done) => {
        log.push(`send ${bytes.byteLength}`);
        pending.push(done);
      },
      socket: { cork: () => log.push('cork'), uncork: () => log.push('uncork') },
      schedule: (fn) => scheduled.push(fn),
      highWater: 10,
      lowWater: 0,
    });
    return { writer, log, pending, scheduled };
  }

  it('corks once per turn and uncorks when the turn is over', () => {
    const { writer, log, scheduled } = setup();
    writer.write(new Uint8Array(3));
    writer.write(new Uint8Array(4));
    expect(log).toEqual(['cork', 'send 3', 'send 4']);
    expect(scheduled).toHaveLength(1);
    scheduled[0]!();
    writer.write(new Uint8Array(1));
    expect(log).toEqual(['cork', 'send 3', 'send 4', 'uncork', 'cork', 'send 1']);
  });

  it('flush releases the held frames at once, and the scheduled uncork then does nothing', () => {
    const { writer, log, scheduled } = setup();
    writer.write(new Uint8Array(3));
    writer.flush();
    scheduled[0]!();
    expect(log).toEqual(['cork', 'send 3', 'uncork']);
  });

  it('counts unflushed bytes like WriteBudget', () => {
    const { writer, pending } = setup();
    writer.write(new Uint8Array(11));
    expect(writer.congested).toBe(true);
    pending[0]!();
    expect(writer.unflushed).toBe(0);
  });
});
