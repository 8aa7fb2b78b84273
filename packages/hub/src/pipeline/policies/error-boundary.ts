import { HubError, toHubError } from '../../errors.js';
import { writeProblem } from '../../http/problem.js';
import { writeResult } from '../../http/write-response.js';
import type { Policy, RequestContext } from '../context.js';

function answered(ctx: RequestContext): void {
  ctx.notes.outcome ??= 'ok';
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

/** Writes the result once the rest of the pipeline produced one; throws what writing throws at once. */
function write(ctx: RequestContext): Promise<void> | undefined {
  if (!ctx.result) throw new HubError('ERR_HUB_INTERNAL', 'pipeline produced no response');
  const writing = writeResult(ctx);
  if (writing === undefined) {
    answered(ctx);
    return undefined;
  }
  return writing.then(
    () => answered(ctx),
    (err: unknown) => fail(ctx, err),
  );
}

/**
 * Outermost policy: writes the result, or turns whatever was thrown into a problem+json response.
 * The one place errors become HTTP.
 *
 * Promise chains rather than an async function: its frame, generator and two awaits were a
 * promise and a microtask each per request, between the response head arriving and res.end().
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
      () => {
        try {
          return write(ctx);
        } catch (err) {
          fail(ctx, err);
          return undefined;
        }
      },
      (err: unknown) => fail(ctx, err),
    );
  };
}
