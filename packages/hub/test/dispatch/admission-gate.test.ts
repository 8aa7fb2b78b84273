import { describe, expect, it } from 'vitest';
import { type AdmissionGate, WAIT_FOR_CAPACITY, type WakeSource } from '../../src/dispatch/admission-gate.js';
import { HubError } from '../../src/errors.js';
import { agent, codeOf, setup, ticket } from './dispatch-harness.js';

/** A shared limit of `limit` slots (a shaping group, as the dispatcher sees it). */
function sharedLimit(limit: number) {
  const listeners = new Set<() => void>();
  let subscriptions = 0;
  const source: WakeSource = {
    onAvailable(listener) {
      subscriptions++;
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const state = {
    inFlight: 0,
    admitted: [] as string[],
    get listening() {
      return listeners.size;
    },
    get subscriptions() {
      return subscriptions;
    },
    /** A slot frees: the source wakes its listeners. */
    release() {
      state.inFlight--;
      for (const l of [...listeners]) l();
    },
    gate(name: string, extra: Partial<AdmissionGate> = {}): AdmissionGate {
      return {
        check: () => (state.inFlight < limit ? 'admit' : WAIT_FOR_CAPACITY),
        admitted() {
          state.inFlight++;
          state.admitted.push(name);
        },
        source,
        waitingFor: 'no shaping slot',
        ...extra,
      };
    },
  };
  return state;
}

describe('Dispatcher with an admission gate (shaping), no sockets', () => {
  it('a request the gate admits goes at once and takes its permit on the agent it gets', async () => {
    const { dispatcher } = setup();
    dispatcher.capacity(agent('a', { slots: 4 }));
    const limit = sharedLimit(1);
    const admittedOn: string[] = [];
    const gate = limit.gate('r1', {
      admitted(agentId) {
        limit.inFlight++;
        admittedOn.push(agentId);
      },
    });
    const t = ticket({ admission: gate });
    await dispatcher.dispatch(t);
    expect(t.opened).toEqual(['a']);
    expect(admittedOn).toEqual(['a']);
  });

  it('a refused Slime-Block request waits in the one queue, not counted as waiting for an agent, and goes when the gate frees a slot', async () => {
    const { dispatcher, waits, clock } = setup();
    dispatcher.capacity(agent('a', { slots: 4 }));
    const limit = sharedLimit(1);
    await dispatcher.dispatch(ticket({ admission: limit.gate('first') }));
    const waiting = ticket({ block: true, admission: limit.gate('second') });
    const p = dispatcher.dispatch(waiting);
    expect(waiting.opened).toEqual([]);
    // held back by shaping: the queue for agents (status, slime_queue_length) does not count it
    expect(dispatcher.queueLength).toBe(0);
    expect(dispatcher.appStats()).toEqual([{ app: 'default', inFlight: 1, queued: 0, served: 0 }]);
    clock.advance(40);
    limit.release();
    await p;
    expect(waiting.opened).toEqual(['a']);
    expect(limit.admitted).toEqual(['first', 'second']);
    expect(waits).toEqual([[40, 'dispatched']]);
  });

  it("a gate's error fails the request at once (a client that would not wait, a hold it cannot wait out)", async () => {
    const { dispatcher } = setup();
    dispatcher.capacity(agent('a'));
    const refusal = new HubError('ERR_HUB_OVERLOADED', 'agent group "*" is at its concurrency limit');
    const gate: AdmissionGate = {
      check: () => refusal,
      admitted() {},
      source: sharedLimit(1).gate('x').source,
    };
    await expect(dispatcher.dispatch(ticket({ admission: gate }))).rejects.toBe(refusal);
    expect(dispatcher.queueLength).toBe(0);
  });

  it('a refusal with retryAt (pacing) waits even without Slime-Block; one timer, the earliest, wakes the queue', async () => {
    const { dispatcher, timers, clock } = setup();
    dispatcher.capacity(agent('a', { slots: 4 }));
    let next = 100;
    const paced = (name: string): AdmissionGate => ({
      check: () => (clock.now() >= next ? 'admit' : { retryAt: next }),
      admitted() {
        next = clock.now() + 100;
        order.push(name);
      },
      source: sharedLimit(1).gate(name).source,
    });
    const order: string[] = [];
    const p1 = dispatcher.dispatch(ticket({ admission: paced('p1') }));
    const p2 = dispatcher.dispatch(ticket({ admission: paced('p2') }));
    expect(timers.pending).toBe(1);
    timers.advance(99);
    expect(order).toEqual([]);
    timers.advance(1);
    await p1;
    expect(order).toEqual(['p1']);
    // the gate now says 200: the queue sleeps again until then
    expect(timers.pending).toBe(1);
    timers.advance(100);
    await p2;
    expect(order).toEqual(['p1', 'p2']);
    expect(timers.pending).toBe(0);
  });

  it('the deadline of a request held back by its gate names what it waited for', async () => {
    const { dispatcher, timers } = setup();
    dispatcher.capacity(agent('a', { slots: 4 }));
    const limit = sharedLimit(0);
    const p = dispatcher.dispatch(ticket({ block: true, timeoutMs: 500, admission: limit.gate('x') }));
    timers.advance(500);
    const err = (await p.catch((e: unknown) => e)) as HubError;
    expect(err.code).toBe('ERR_HUB_BLOCK_TIMEOUT');
    expect(err.message).toBe('no shaping slot within 500 ms');
  });

  it('a re-queued request (front) frees its old slot only once in line: that slot comes back to it, ahead of earlier waiters', async () => {
    const { dispatcher } = setup();
    dispatcher.capacity(agent('a', { slots: 4 }));
    const limit = sharedLimit(1);
    await dispatcher.dispatch(ticket({ admission: limit.gate('r1') }));
    const waiting = dispatcher.dispatch(ticket({ block: true, admission: limit.gate('b') }));
    let prepared = 0;
    const again = limit.gate('r1-again', {
      front: true,
      prepare() {
        prepared++;
        limit.release(); // the throttle answer's slot
      },
    });
    const resent = dispatcher.dispatch(ticket({ block: true, admission: again }));
    await resent;
    expect(prepared).toBe(1);
    expect(limit.admitted).toEqual(['r1', 'r1-again']);
    limit.release();
    await waiting;
    expect(limit.admitted).toEqual(['r1', 'r1-again', 'b']);
  });

  it('listens once per wake source however many wait on it, and stops when the last leaves', async () => {
    const { dispatcher } = setup();
    dispatcher.capacity(agent('a', { slots: 8 }));
    const limit = sharedLimit(1);
    await dispatcher.dispatch(ticket({ admission: limit.gate('held') }));
    const gone = new AbortController();
    const waiters = [1, 2, 3].map((n) =>
      dispatcher.dispatch(ticket({ block: true, signal: gone.signal, admission: limit.gate(String(n)) })),
    );
    expect(limit.subscriptions).toBe(1);
    expect(limit.listening).toBe(1);
    gone.abort();
    expect(await Promise.all(waiters.map(codeOf))).toEqual([
      'ERR_HUB_CLIENT_GONE',
      'ERR_HUB_CLIENT_GONE',
      'ERR_HUB_CLIENT_GONE',
    ]);
    expect(limit.listening).toBe(0);
  });

  it('applications behind one shared limit take turns by weight: an app held back keeps the rest of its turn (3:1)', async () => {
    const weights: Record<string, number> = { heavy: 3, light: 1 };
    const { dispatcher } = setup({ share: (app) => ({ weight: weights[app] ?? 1, maxQueue: undefined }) });
    dispatcher.capacity(agent('a', { slots: 100 }));
    const limit = sharedLimit(1);
    await dispatcher.dispatch(ticket({ admission: limit.gate('busy') }));
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 12; i++) {
      for (const app of ['heavy', 'light']) {
        pending.push(dispatcher.dispatch(ticket({ block: true, app, admission: limit.gate(app) })));
      }
    }
    for (let i = 0; i < 16; i++) limit.release();
    expect(limit.admitted.slice(1, 17).join(' ')).toBe(
      'heavy heavy heavy light heavy heavy heavy light heavy heavy heavy light heavy heavy heavy light',
    );
  });

  it('refuses a maxQueue below 1 up front', () => {
    expect(() => setup({ maxQueue: 0 })).toThrow(/maxQueue must be an integer >= 1/);
  });
});
