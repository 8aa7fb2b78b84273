import type { RequestContext } from '../../src/pipeline/context.js';

/** Just enough of a RequestContext for the shaping policies, which read headers, signal and route. */
export function fakeContext(
  headers: Record<string, string> = {},
  extra: Partial<Pick<RequestContext, 'scope' | 'route' | 'block' | 'blockTimeoutMs' | 'result'>> = {},
) {
  const controller = new AbortController();
  const ctx = {
    req: { headers },
    signal: controller.signal,
    notes: {},
    responseHeaders: {},
    route: { kind: 'agents' },
    block: false,
    startedAt: 0,
    ...extra,
  } as unknown as RequestContext;
  return { ctx, abort: () => controller.abort() };
}
