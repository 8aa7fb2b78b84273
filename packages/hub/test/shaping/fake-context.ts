import { pino } from 'pino';
import { blockBudgetLeft } from '../../src/dispatch/block-budget.js';
import { type DispatchAgent, Dispatcher } from '../../src/dispatch/dispatcher.js';
import type { Attempt, ProxyResponse, RequestContext } from '../../src/pipeline/context.js';

/**
 * Just enough of a RequestContext for the shaping policies, which read headers and the attempt
 * they shape (its route, signal and result); `ctx.result` is the attempt's, as in the pipeline.
 */
export function fakeContext(
  headers: Record<string, string> = {},
  extra: Partial<Pick<RequestContext, 'scope' | 'route' | 'block' | 'blockTimeoutMs' | 'result'>> = {},
) {
  const controller = new AbortController();
  const { result, ...rest } = extra;
  const route = rest.route ?? { kind: 'agents' };
  const attempt: Attempt = {
    index: 0,
    route,
    scope: route.kind === 'agents' ? (route.scope ?? rest.scope) : rest.scope,
    target: '/',
    headers: [],
    signal: controller.signal,
    gone: controller.signal,
    body: { stream: null, consumed: false, read() {}, handBack() {} },
    ...(result ? { result } : {}),
  };
  const ctx = {
    req: { headers },
    signal: controller.signal,
    notes: {},
    responseHeaders: {},
    route,
    block: false,
    startedAt: 0,
    ...rest,
    attempt,
    get result() {
      return attempt.result;
    },
    set result(value: ProxyResponse | undefined) {
      if (value) attempt.result = value;
      else delete attempt.result;
    },
  } as unknown as RequestContext;
  return { ctx, abort: () => controller.abort() };
}

/**
 * A dispatcher with one roomy agent, for shaping's policy: the `next` it makes sends the attempt
 * through the dispatcher (where a shaped request waits, as in the hub's dispatch policy) and then
 * runs `then` (the test's stand-in for the agent's answer).
 */
export function throughDispatcher(options: { now: () => number; maxQueue?: number }) {
  const dispatcher = new Dispatcher({
    concurrent: undefined,
    maxQueue: options.maxQueue ?? 100,
    now: options.now,
    log: pino({ level: 'silent' }),
  });
  const agent: DispatchAgent = {
    id: 'a1',
    accepting: true,
    inFlight: 0,
    lastPick: 0,
    serves: () => true,
    openStream: () => ({
      response: new Promise(() => {}),
      cancel() {},
      expire() {},
      onSettled() {},
    }),
  };
  dispatcher.capacity(agent);
  const next =
    (ctx: RequestContext, then: () => Promise<void> = async () => {}) =>
    async () => {
      const attempt = ctx.attempt!;
      await dispatcher.dispatch({
        scope: attempt.scope,
        path: '/',
        block: ctx.block,
        timeoutMs: blockBudgetLeft(ctx, options.now()),
        signal: attempt.gone,
        front: false,
        ...(attempt.gate ? { gate: attempt.gate } : {}),
        ...(attempt.admission ? { admission: attempt.admission } : {}),
        open: (a) => a.openStream({} as never),
      });
      await then();
    };
  return { dispatcher, next };
}
