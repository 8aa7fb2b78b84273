import type { RequestContext } from '../pipeline/context.js';
import { parseIp } from './ip.js';
import { ambiguityOf, lenientPath } from './path-rules.js';

/**
 * What rules look at, derived once per request and shared by access rules and rate limits. The
 * path is normalised so that `/a/../admin`, `//admin` or `/%61dmin` cannot slip past a rule on
 * `/admin`.
 */
export interface RequestView {
  readonly method: string;
  readonly path: string;
  /**
   * Why the raw target's path is ambiguous (servers may read it differently), or `undefined`.
   * See `ambiguityOf`.
   */
  readonly ambiguity?: string | undefined;
  /** The widest reading of an ambiguous path (`lenientPath`); `path` when it is not ambiguous. */
  readonly lenientPath?: string;
  readonly ip: bigint | undefined;
  readonly ipText: string;
  readonly app: string | undefined;
  readonly scope: string | undefined;
  /** All values of a header (name lower-case), each repeated field separately. */
  header(name: string): readonly string[];
  /** All values of a query parameter, in order, repeats included. */
  param(name: string): readonly string[];
}

/** Resolves dot segments, decodes escapes of non-reserved characters and collapses `//`. */
export function normalizePath(path: string): string {
  // Slashes first: the URL parser would read `//admin` as a host name.
  let p = `/${path}`.replace(/\/{2,}/g, '/');
  try {
    p = new URL(p, 'http://h').pathname;
  } catch {
    // keep the raw path: matching it literally is still better than failing the request
  }
  try {
    p = decodeURI(p);
  } catch {
    // malformed escapes stay as they are
  }
  return p.replace(/\/{2,}/g, '/');
}

const cache = new WeakMap<RequestContext, RequestView>();

export function viewOf(ctx: RequestContext): RequestView {
  const hit = cache.get(ctx);
  // scope and app may change between policies (router), so only the static parts are cached.
  if (hit && hit.scope === ctx.scope && hit.app === ctx.app && hit.ipText === ctx.clientIp) return hit;
  const { req } = ctx;
  const path = hit?.path ?? normalizePath(ctx.path);
  const ambiguity = hit ? hit.ambiguity : ambiguityOf(ctx.path);
  const view: RequestView = {
    method: ctx.method.toUpperCase(),
    path,
    ambiguity,
    lenientPath: hit?.lenientPath ?? (ambiguity === undefined ? path : lenientPath(ctx.path)),
    ip: parseIp(ctx.clientIp),
    ipText: ctx.clientIp,
    app: ctx.app,
    scope: ctx.scope,
    header(name) {
      // Node builds headersDistinct on first read: only for rules that look at a header.
      const d = (req.headersDistinct as Record<string, string[] | undefined> | undefined)?.[name];
      if (d) return d;
      const v = req.headers[name];
      return v === undefined ? [] : Array.isArray(v) ? v : [v];
    },
    param(name) {
      return ctx.query.getAll(name);
    },
  };
  cache.set(ctx, view);
  return view;
}
