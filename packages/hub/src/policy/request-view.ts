import type { RequestContext } from '../pipeline/context.js';
import { parseIp, rememberLast } from './ip.js';
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

/**
 * A path the slow way below returns unchanged: it starts with `/`, has no empty or dot segment
 * (`//`, `/.`), and holds only characters the URL parser neither escapes nor rewrites (no `%`,
 * `\`, space, double quotes, `<>{}` or non-ASCII). Most requests' paths are like this.
 */
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;

/** Resolves dot segments, decodes escapes of non-reserved characters and collapses `//`. */
export function normalizePath(path: string): string {
  if (PLAIN_PATH.test(path) && !path.includes('//') && !path.includes('/.')) return path;
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

/**
 * Each value of the field `name` (lower-case) in a raw header list (name, value, name, value...),
 * repeated fields separately, as `headersDistinct` has them.
 */
export function headerValues(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === name.length && (n === name || n.toLowerCase() === name)) out.push(raw[i + 1]!);
  }
  return out;
}

const parseClientIp = rememberLast(parseIp);

export function viewOf(ctx: RequestContext): RequestView {
  const hit = ctx.policyView as RequestView | undefined;
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
    ip: parseClientIp(ctx.clientIp),
    ipText: ctx.clientIp,
    app: ctx.app,
    scope: ctx.scope,
    header(name) {
      // The raw list, not headersDistinct: Node builds that map of every field on first read
      // (~2.4 µs a request with one header rule), where a rule needs one name.
      return headerValues(req.rawHeaders, name);
    },
    param(name) {
      return ctx.query.getAll(name);
    },
  };
  ctx.policyView = view;
  return view;
}
