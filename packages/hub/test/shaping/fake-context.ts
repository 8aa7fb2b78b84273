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
