import { HubError, toHubError } from '../../errors.js';
import { writeProblem } from '../../http/problem.js';
import { writeResult } from '../../http/write-response.js';
import type { Policy, RequestContext } from '../context.js';

/**
 * Outermost policy: writes the result, or turns whatever was thrown into a problem+json response.
 * The one place errors become HTTP.
 *
 * Promise chains rather than an async function: the async frame cost a generator and a microtask
 * per request, and a result written synchronously (its body already here) needs neither.
 */
export function errorBoundary(): Policy {
  return function errorBoundary(ctx, next) {
    let rest: Promise<void>;
    try {
      rest = next();
    } catch (err) {
      fail(ctx, err);
      return Promise.resolve();
    }
    return rest.then(
      () => written(ctx),
      (err: unknown) => fail(ctx, err),
    );
  };
}

function written(ctx: RequestContext): Promise<void> | undefined {
  try {
    if (!ctx.result) throw new HubError('ERR_HUB_INTERNAL', 'pipeline produced no response');
    const piped = writeResult(ctx);
    if (piped === undefined) {
      ctx.notes.outcome ??= 'ok';
      return undefined;
    }
    return piped.then(
      () => {
        ctx.notes.outcome ??= 'ok';
      },
      (err: unknown) => fail(ctx, err),
    );
  } catch (err) {
    fail(ctx, err);
    return undefined;
  }
}

function fail(ctx: RequestContext, err: unknown): void {
  const hubErr = toHubError(err);
  ctx.notes.outcome = hubErr.code;
  ctx.notes.status ??= hubErr.status;
  if (hubErr.code === 'ERR_HUB_INTERNAL') ctx.log.error({ err }, 'request failed');
  if (hubErr.code === 'ERR_HUB_CLIENT_GONE' || ctx.res.destroyed) {
    ctx.res.destroy();
    return;
  }
  writeProblem(ctx.res, hubErr, {
    requestId: ctx.requestId,
    headers: { 'x-request-id': ctx.requestId, ...ctx.responseHeaders },
  });
}
