import type { RequestContext } from '../pipeline/context.js';
import type { UpgradeStream } from '../streams/upgrade-stream.js';

const TOKEN_LIST = /^[!#$%&'*+.^_`|~0-9A-Za-z/-]+(?:\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z/-]+)*$/;

/**
 * Writes the upstream's 101 to the client and joins its socket to the upgraded stream; resolves
 * when the tunnel is over. `raw` is the head the client writer built (end-to-end fields, the
 * hub's own); Connection and Upgrade are set here, as the switch needs them (they are hop-by-hop).
 */
export async function switchProtocols(ctx: RequestContext, raw: string[]): Promise<void> {
  const result = ctx.result!;
  const body = result.body as UpgradeStream;
  const socket = ctx.res.socket;
  let upgrade = '';
  for (const [name, value] of result.headers) if (name === 'upgrade') upgrade = value;
  // The agent strips hop-by-hop fields but this one, whose value must be a protocol list.
  if (!TOKEN_LIST.test(upgrade)) upgrade = ctx.upgrade?.protocols ?? 'websocket';
  ctx.notes.status = 101;
  ctx.notes.outcome = 'upgraded';
  if (!socket || socket.destroyed) {
    body.discard('client went away');
    return;
  }
  let head = `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\n`;
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  socket.write(`${head}\r\n`, 'latin1');
  ctx.upgrade?.release();
  await body.tunnel(socket);
}
