import { pino } from 'pino';
import {
  type DispatchAgent,
  type DispatchedStream,
  Dispatcher,
  type DispatcherOptions,
  type DispatchTicket,
} from '../../src/dispatch/dispatcher.js';
import type { HubError } from '../../src/errors.js';
import { manualTimers } from '../pipeline/manual-timers.js';
import { fakeClock } from '../policy/fake-context.js';

// The dispatcher without sockets: the test owns the agents, the clock and the timers.

/** An agent as the dispatcher sees it; its streams settle when the test says so. */
export function agent(id: string, opts: { scopes?: string[]; slots?: number } = {}) {
  const settles: (() => void)[] = [];
  const a = {
    id,
    slots: opts.slots ?? 1,
    inFlight: 0,
    lastPick: 0,
    get accepting() {
      return a.inFlight < a.slots;
    },
    serves: (scope: string | undefined) => scope === undefined || (opts.scopes ?? []).includes(scope),
    openStream(): DispatchedStream {
      a.inFlight++;
      let settled = false;
      const listeners: (() => void)[] = [];
      settles.push(() => {
        if (settled) return;
        settled = true;
        a.inFlight--;
        for (const fn of listeners) fn();
      });
      return {
        response: new Promise(() => {}),
        cancel: () => {},
        expire: () => {},
        onSettled: (fn) => void listeners.push(fn),
      };
    },
    /** Ends the oldest open stream. */
    settle: () => settles.shift()?.(),
  };
  return a;
}

export function setup(opts: Partial<DispatcherOptions> = {}) {
  const clock = fakeClock(0);
  const timers = manualTimers(clock);
  const waits: [number, string][] = [];
  const dispatcher = new Dispatcher({
    concurrent: undefined,
    maxQueue: 100,
    now: clock.now,
    log: pino({ level: 'silent' }),
    timers: timers.timers,
    onWait: (ms, outcome) => waits.push([ms, outcome]),
    ...opts,
  });
  return { dispatcher, clock, timers, waits };
}

export function ticket(t: Partial<DispatchTicket> = {}): DispatchTicket & { opened: string[] } {
  const opened: string[] = [];
  return {
    scope: undefined,
    path: '/',
    block: false,
    timeoutMs: undefined,
    signal: new AbortController().signal,
    front: false,
    open: (a: DispatchAgent) => {
      opened.push(a.id);
      return a.openStream({} as never);
    },
    ...t,
    opened,
  };
}

export const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: HubError) => e.code,
  );
