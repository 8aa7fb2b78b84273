import { HubError, toHubError } from '../../errors.js';
import { writeProblem } from '../../http/problem.js';
import { writeResult } from '../../http/write-response.js';
import type { Policy } from '../context.js';

/**
 * Outermost policy: writes the result, or turns whatever was thrown into a problem+json response.
 * The one place errors become HTTP.
 */
export function errorBoundary(): Policy {
  return async function errorBoundary(ctx, next) {
    try {
      await next();
      if (!ctx.result) throw new HubError('ERR_HUB_INTERNAL', 'pipeline produced no response');
      await writeResult(ctx);
      ctx.notes.outcome ??= 'ok';
    } catch (err) {
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
  };
}
