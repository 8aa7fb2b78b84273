import { createHash, timingSafeEqual } from 'node:crypto';
import { type AppDirectory, NO_APPS } from '../../apps/app-directory.js';
import { DEFAULT_APP, PRIORITIES, type Priority } from '../../apps/app-types.js';
import { HubError } from '../../errors.js';
import type { Policy, RequestContext } from '../context.js';

const digest = (s: string) => createHash('sha256').update(s).digest();
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

export interface AppAuthOptions {
  /** `--appPassword`: Slime-App-Password authenticates the application `default`. */
  appPassword?: string | undefined;
  /** The applications in force (the policy's `apps`); read per request, so updates apply at once. */
  apps?: (() => AppDirectory) | undefined;
}

const unauthorized = (message: string) =>
  new HubError('ERR_HUB_UNAUTHORIZED', message, {
    headers: { 'www-authenticate': 'Bearer realm="slime"' },
  });

/** Slime-Priority, capped by the application's ceiling; 400 on a value that is not a priority. */
function priorityOf(ctx: RequestContext, ceiling: Priority): Priority {
  const raw = ctx.req.headers['slime-priority'];
  let asked: Priority = 'normal';
  if (raw !== undefined) {
    const v = (Array.isArray(raw) ? raw[0] : raw)?.trim().toLowerCase();
    if (!PRIORITIES.includes(v as never))
      throw new HubError('ERR_HUB_BAD_REQUEST', 'Slime-Priority must be high, normal or low');
    asked = v as Priority;
  }
  return PRIORITIES.indexOf(asked) < PRIORITIES.indexOf(ceiling) ? ceiling : asked;
}

/** Drops the Authorization field that carried the app key: it is the hub's credential, not the upstream's. */
function dropAuthorization(ctx: RequestContext): void {
  ctx.upstreamHeaders = ctx.upstreamHeaders.filter(([name]) => name.toLowerCase() !== 'authorization');
}

/**
 * Application authentication. With apps declared in the policy, a request names its application
 * with `Slime-App-Key: <key>` or `Authorization: Bearer <key>`; with `--appPassword`,
 * `Slime-App-Password` authenticates the application `default` as before. Neither configured:
 * every request is `default`'s, unauthenticated. Keys and the password are compared as SHA-256
 * digests with timingSafeEqual, so timing reveals nothing about them. Sets `ctx.app` and
 * `ctx.priority`.
 */
export function appAuth(options: AppAuthOptions): Policy {
  const expected = options.appPassword ? digest(options.appPassword) : undefined;
  const directory = options.apps ?? (() => NO_APPS);
  const authenticate = async function appAuth(
    ctx: RequestContext,
    next: () => Promise<void>,
    apps: AppDirectory,
  ) {
    const headers = ctx.req.headers;
    let app: string | undefined;
    const key = headers['slime-app-key'];
    const bearer =
      typeof headers.authorization === 'string' ? BEARER.exec(headers.authorization)?.[1] : undefined;
    const password = headers['slime-app-password'];
    const bearerApp =
      apps.required && bearer !== undefined && typeof key !== 'string' ? apps.byKey(bearer) : undefined;
    if (apps.required && typeof key === 'string') {
      app = apps.byKey(key)?.name;
      if (app === undefined) throw unauthorized('unknown, expired or revoked Slime-App-Key');
    } else if (bearerApp) {
      app = bearerApp.name;
      dropAuthorization(ctx);
    } else if (expected && typeof password === 'string') {
      if (!timingSafeEqual(digest(password), expected))
        throw unauthorized('missing or wrong Slime-App-Password');
      app = DEFAULT_APP;
    } else if (bearer !== undefined && apps.required) {
      throw unauthorized('unknown, expired or revoked application key');
    } else {
      throw unauthorized(
        apps.required
          ? 'send the application key as Authorization: Bearer <key> or Slime-App-Key'
          : 'missing or wrong Slime-App-Password',
      );
    }
    ctx.app = app;
    setPriority(ctx, apps);
    await next();
  };
  // Neither a password nor keys: nothing to check, and no promise of its own.
  return function appAuth(ctx, next) {
    const apps = directory();
    if (expected || apps.required) return authenticate(ctx, next, apps);
    try {
      setPriority(ctx, apps);
    } catch (err) {
      return Promise.reject(err);
    }
    return next();
  };
}

function setPriority(ctx: RequestContext, apps: AppDirectory): void {
  const priority = priorityOf(ctx, apps.settings(ctx.app ?? DEFAULT_APP).maxPriority);
  if (priority !== 'normal') ctx.priority = priority;
}
