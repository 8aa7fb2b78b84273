import { isHopByHop } from '@slime/protocol';
import type { RequestContext } from '../pipeline/context.js';

/**
 * Writes the proxied response head in one writeHead call (raw list form keeps repeated fields such
 * as set-cookie) and streams the body at the client's pace.
 */
export async function writeResult(ctx: RequestContext): Promise<void> {
  const result = ctx.result!;
  const { res } = ctx;
  const raw: string[] = [];
  for (const [name, value] of result.headers) {
    if (isHopByHop(name)) continue;
    raw.push(name, value);
  }
  if (result.servedBy) raw.push('slime-agent-id', result.servedBy);
  raw.push('x-request-id', ctx.requestId);
  for (const [name, value] of Object.entries(ctx.responseHeaders)) raw.push(name, value);
  res.writeHead(result.status, raw);
  await result.body.pipe(res);
}
