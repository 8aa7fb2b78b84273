import { describe, expect, it } from 'vitest';
import { RequestAbort } from '../../src/pipeline/request-abort.js';

describe('RequestAbort', () => {
  it('runs each listener once, and a real AbortSignal made before the abort aborts with it', () => {
    const a = new RequestAbort();
    const signal = a.signal;
    const calls: string[] = [];
    const removed = () => calls.push('removed');
    a.addEventListener('abort', () => calls.push('one'));
    a.addEventListener('abort', removed);
    a.removeEventListener('abort', removed);
    signal.addEventListener('abort', () => calls.push('signal'));
    const reason = new Error('gone');
    a.abort(reason);
    a.abort(new Error('again'));
    expect(a.aborted).toBe(true);
    expect(calls.sort()).toEqual(['one', 'signal']);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
  });

  it('hands out an already aborted signal after the abort, and ignores listeners added late', () => {
    const a = new RequestAbort();
    a.abort('client went away');
    let late = 0;
    a.addEventListener('abort', () => late++);
    expect(a.signal.aborted).toBe(true);
    expect(a.signal.reason).toBe('client went away');
    expect(late).toBe(0);
  });
});
