import { describe, expect, it } from 'vitest';
import type { AgentGate } from '../../src/dispatch/agent-gate.js';
import type { HubError } from '../../src/errors.js';
import { agent, codeOf, setup, ticket } from './dispatch-harness.js';

describe('Dispatcher (no sockets: the test owns the agents and timers)', () => {
  it('picks the least busy agent, the least recently picked on a tie', async () => {
    const { dispatcher } = setup();
    const a = agent('a', { slots: 4 });
    const b = agent('b', { slots: 4 });
    dispatcher.capacity(a);
    dispatcher.capacity(b);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const t = ticket();
      await dispatcher.dispatch(t);
      order.push(...t.opened);
    }
    expect(order).toEqual(['a', 'b', 'a', 'b']);
    expect(dispatcher.active).toBe(4);
    a.settle();
    expect(dispatcher.active).toBe(3);
  });

  it('dispatchNow hands a stream opened at once back as it is, and a wait as a promise', async () => {
    const { dispatcher } = setup();
    const a = agent('a', { slots: 1 });
    dispatcher.capacity(a);
    const now = ticket();
    const opened = dispatcher.dispatchNow(now);
    expect(opened).not.toBeInstanceOf(Promise);
    expect(now.opened).toEqual(['a']);
    // the only slot is taken: a blocking request waits, as a promise
    const later = ticket({ block: true });
    const waiting = dispatcher.dispatchNow(later);
    expect(waiting).toBeInstanceOf(Promise);
    expect(later.opened).toEqual([]);
    a.settle();
    dispatcher.capacity(a);
    await waiting;
    expect(later.opened).toEqual(['a']);
    // and a refusal is a rejected promise, as from dispatch
    expect(await codeOf(dispatcher.dispatchNow(ticket()) as Promise<unknown>)).toBe('ERR_HUB_NO_AGENT');
  });

  it('without an agent: 503 ERR_HUB_NO_AGENT at once, or a Slime-Block wait woken by capacity in FIFO order', async () => {
    const { dispatcher, waits, clock } = setup();
    expect(await codeOf(dispatcher.dispatch(ticket()))).toBe('ERR_HUB_NO_AGENT');
    const first = ticket({ block: true });
    const second = ticket({ block: true });
    const p1 = dispatcher.dispatch(first);
    const p2 = dispatcher.dispatch(second);
    expect(dispatcher.queueLength).toBe(2);
    clock.advance(250);
    const a = agent('a');
    dispatcher.capacity(a);
    await p1;
    expect(first.opened).toEqual(['a']);
    expect(second.opened).toEqual([]);
    // the stream ends and its credit returns: the connection reports capacity
    a.settle();
    expect(dispatcher.queueLength).toBe(1);
    dispatcher.capacity(a);
    await p2;
    expect(second.opened).toEqual(['a']);
    expect(waits).toEqual([
      [250, 'dispatched'],
      [250, 'dispatched'],
    ]);
  });

  it('Slime-Block-Timeout runs on the injected timers: 503 ERR_HUB_BLOCK_TIMEOUT and the wait measured by the injected clock', async () => {
    const { dispatcher, timers, waits } = setup();
    const p = codeOf(dispatcher.dispatch(ticket({ block: true, timeoutMs: 1000 })));
    expect(timers.pending).toBe(1);
    timers.advance(999);
    expect(dispatcher.queueLength).toBe(1);
    timers.advance(1);
    expect(await p).toBe('ERR_HUB_BLOCK_TIMEOUT');
    expect(dispatcher.queueLength).toBe(0);
    expect(waits).toEqual([[1000, 'timeout']]);
  });

  it('a dispatched waiter clears its timer', async () => {
    const { dispatcher, timers } = setup();
    const p = dispatcher.dispatch(ticket({ block: true, timeoutMs: 1000 }));
    dispatcher.capacity(agent('a'));
    await p;
    expect(timers.pending).toBe(0);
  });

  it('--concurrent holds a slot per dispatched request; the next waits until one settles', async () => {
    const { dispatcher } = setup({ concurrent: 1 });
    const a = agent('a', { slots: 8 });
    dispatcher.capacity(a);
    await dispatcher.dispatch(ticket());
    const waiting = ticket({ block: true });
    const p = dispatcher.dispatch(waiting);
    expect(dispatcher.queueLength).toBe(1);
    a.settle();
    await p;
    expect(waiting.opened).toEqual(['a']);
  });

  it('refuses past maxQueue with ERR_HUB_QUEUE_FULL; a re-dispatch (front) still gets in, first', async () => {
    const { dispatcher } = setup({ maxQueue: 1 });
    const queued = ticket({ block: true });
    void dispatcher.dispatch(queued).catch(() => {});
    expect(await codeOf(dispatcher.dispatch(ticket({ block: true })))).toBe('ERR_HUB_QUEUE_FULL');
    const again = ticket({ block: true, front: true });
    const p = dispatcher.dispatch(again);
    dispatcher.capacity(agent('a'));
    await p;
    expect(again.opened).toEqual(['a']);
    expect(queued.opened).toEqual([]);
  });

  it('a client that leaves is taken out of the queue; close() refuses waiters and new requests', async () => {
    const { dispatcher, waits } = setup();
    const controller = new AbortController();
    const gone = codeOf(dispatcher.dispatch(ticket({ block: true, signal: controller.signal })));
    const other = codeOf(dispatcher.dispatch(ticket({ block: true })));
    controller.abort();
    expect(await gone).toBe('ERR_HUB_CLIENT_GONE');
    dispatcher.close();
    expect(await other).toBe('ERR_HUB_SHUTTING_DOWN');
    expect(await codeOf(dispatcher.dispatch(ticket()))).toBe('ERR_HUB_SHUTTING_DOWN');
    expect(waits.map(([, o]) => o)).toEqual(['client-gone', 'shutdown']);
  });

  it('passes over agents of another scope, ejected agents and agents the request already failed on', async () => {
    const ejected = new Set<string>();
    const { dispatcher } = setup({ isEjected: (a) => ejected.has(a.id) });
    const gpu = agent('gpu', { scopes: ['gpu'], slots: 4 });
    const cpu = agent('cpu', { scopes: ['cpu'], slots: 4 });
    dispatcher.capacity(gpu);
    dispatcher.capacity(cpu);
    const t = ticket({ scope: 'cpu' });
    await dispatcher.dispatch(t);
    expect(t.opened).toEqual(['cpu']);
    expect(await codeOf(dispatcher.dispatch(ticket({ scope: 'cpu', exclude: new Set([cpu]) })))).toBe(
      'ERR_HUB_NO_AGENT',
    );
    ejected.add('gpu');
    expect(await codeOf(dispatcher.dispatch(ticket({ scope: 'gpu' })))).toBe('ERR_HUB_NO_AGENT');
  });

  it("a gate that refuses every agent answers with the gate's own refusal", async () => {
    const { dispatcher } = setup();
    dispatcher.capacity(agent('a'));
    const gate = {
      admits: () => false,
      assigned: () => {},
      onAvailable: () => () => {},
      refusal: () => ({ code: 'ERR_HUB_OVERLOADED' }) as HubError,
    } as unknown as AgentGate;
    expect(await codeOf(dispatcher.dispatch(ticket({ gate })))).toBe('ERR_HUB_OVERLOADED');
  });
});
