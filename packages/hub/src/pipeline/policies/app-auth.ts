import { createHash, timingSafeEqual } from 'node:crypto';
import { HubError } from '../../errors.js';
import type { Policy } from '../context.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Slime-App-Password check. Hashing both sides first makes the comparison constant-time whatever
 * the lengths, so response timing reveals nothing about the password.
 */
export function appAuth(options: { appPassword?: string | undefined }): Policy {
  const expected = options.appPassword ? digest(options.appPassword) : undefined;
  return async function appAuth(ctx, next) {
    if (expected) {
      const given = ctx.req.headers['slime-app-password'];
      if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) {
        throw new HubError('ERR_HUB_UNAUTHORIZED', 'missing or wrong Slime-App-Password');
      }
      ctx.app = 'default';
    }
    await next();
  };
}
