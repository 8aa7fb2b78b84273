import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  type DispatchAgent,
  type DispatchedStream,
  Dispatcher,
  type DispatchTicket,
} from '../../src/dispatch/dispatcher.js';

/** An agent with one slot that records the order of opens and flushes. */
function oneSlotAgent(events: string[]) {
  let settle: (() => void) | undefined;
  const agent: DispatchAgent & { free(): void; accepting: boolean; inFlight: number } = {
    id: 'a#1',
    accepting: true,
    inFlight: 0,
    lastPick: 0,
    serves: () => true,
    openStream: () => {
      throw new Error('not used: tickets open');
    },
    flush: () => events.push('flush'),
    free() {
      agent.accepting = true;
      agent.inFlight = 0;
      events.push('freed');
      settle?.();
      dispatcher.capacity(agent);
      events.push('bookkeeping');
    },
  };
  const dispatcher = new Dispatcher({
    concurrent: undefined,
    maxQueue: 10,
    now: () => 0,
    log: pino({ level: 'silent' }),
  });
  const ticket = (name: string): DispatchTicket => ({
    scope: undefined,
    path: '/',
    block: true,
    timeoutMs: undefined,
    signal: new AbortController().signal,
    front: false,
    open: () => {
      events.push(`open ${name}`);
      agent.accepting = false;
      agent.inFlight = 1;
      const stream: DispatchedStream = {
        response: new Promise(() => {}),
        cancel() {},
        expire() {},
        onSettled(fn) {
          settle = fn;
        },
      };
      return stream;
    },
  });
  dispatcher.capacity(agent);
  return { agent, dispatcher, ticket };
}

describe('wake-up order', () => {
  it("writes a waiter's REQUEST out as soon as it takes the freed slot, before the rest of the turn", async () => {
    const events: string[] = [];
    const { agent, dispatcher, ticket } = oneSlotAgent(events);
    await dispatcher.dispatch(ticket('first'));
    const second = dispatcher.dispatch(ticket('second'));
    expect(dispatcher.queueLength).toBe(1);
    agent.free();
    await second;
    // the first request went out without a queue (the connection's batching sends it); the
    // waiter's open is flushed at once, ahead of what the freeing stream does next
    expect(events).toEqual(['open first', 'freed', 'open second', 'flush', 'bookkeeping']);
  });
});
