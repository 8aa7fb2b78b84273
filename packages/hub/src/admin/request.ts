import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { bearerToken } from '../agents/tokens.js';
import { AdminError } from './respond.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Checks `Authorization: Bearer <token>` (the scheme in any case, parsed as on the agent endpoint).
 * Both sides are hashed first, so the comparison takes the same time whatever the length or
 * content of a wrong token.
 */
export function createBearerCheck(token: string): (req: IncomingMessage) => boolean {
  const expected = digest(token);
  return (req) => {
    const given = bearerToken(req.headers.authorization);
    return given !== undefined && timingSafeEqual(digest(given), expected);
  };
}

/** Reads a request body up to `limit` bytes; beyond it the request is refused with 413. */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    throw new AdminError(413, 'ERR_HUB_PAYLOAD_TOO_LARGE', `body larger than ${limit} bytes`, {
      headers: { connection: 'close' },
    });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit)
      throw new AdminError(413, 'ERR_HUB_PAYLOAD_TOO_LARGE', `body larger than ${limit} bytes`, {
        headers: { connection: 'close' },
      });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Refuses anything but the listed methods with 405 and an Allow header. */
export function allowMethods(req: IncomingMessage, methods: readonly string[]): void {
  if (!methods.includes(req.method ?? '')) {
    throw new AdminError(405, 'ERR_HUB_METHOD_NOT_ALLOWED', `use ${methods.join(' or ')}`, {
      headers: { allow: methods.join(', ') },
    });
  }
}
