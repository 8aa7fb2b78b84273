/**
 * Targets that different servers read differently. The hub forwards the raw target, so whenever the
 * hub's reading (the normalised path rules match against) and the upstream's reading can disagree,
 * a path rule can be sidestepped: `/admin%2fx` is not under `/admin/` for the hub, but it is for an
 * upstream that decodes `%2f`. These helpers name such targets and give the widest reading an
 * upstream might take, so rules can refuse what they cannot judge.
 */

/** Runs of escapes, decoded together so multi-byte UTF-8 sequences stay whole. */
const ESCAPE_RUN = /(?:%[0-9A-Fa-f]{2})+/g;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function escapeBytes(run: string): Buffer {
  return Buffer.from(run.replace(/%/g, ''), 'hex');
}

/** Decodes every escape once (`%2f` too); bytes that are not UTF-8 become U+FFFD. */
function decodeAll(s: string): string {
  return s.replace(ESCAPE_RUN, (run) => escapeBytes(run).toString('utf8'));
}

/** Whether every run of escapes decodes as UTF-8 (overlong `%c0%af` for `/` does not). */
function escapesAreUtf8(s: string): boolean {
  for (const m of s.matchAll(ESCAPE_RUN)) {
    try {
      strictUtf8.decode(escapeBytes(m[0]));
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Why a raw request path (no query) is ambiguous, or `undefined` when it is not. Checked in this
 * order, first hit reported:
 *
 * - a raw `\` (many servers read it as `/`; the hub's own parser does);
 * - `%2f` or `%5c`, an encoded `/` or `\`, in any case;
 * - `%25` followed by two hex digits: double encoding (`%2561` is `%61` once decoded, `a` twice);
 * - `;` or `%3b`: a path parameter (`/secret;x` is `/secret` to Tomcat, Jetty, Spring);
 * - an encoded control character `%00`-`%1f` or `%7f` (NUL truncates in C-based servers);
 * - a `%` not followed by two hex digits;
 * - escapes that are not UTF-8 (overlong forms such as `%c0%af`);
 * - a segment that ends in whitespace once decoded (`/secret%20`: Windows servers trim it).
 *
 * @example
 * ```ts
 * ambiguityOf('/admin%2fx'); // 'encoded slash or backslash'
 * ambiguityOf('/admin/x');   // undefined
 * ```
 */
export function ambiguityOf(rawPath: string): string | undefined {
  if (rawPath.includes('\\')) return 'backslash';
  if (!rawPath.includes('%') && !rawPath.includes(';')) return undefined;
  if (/%(?:2f|5c)/i.test(rawPath)) return 'encoded slash or backslash';
  if (/%25[0-9a-f]{2}/i.test(rawPath)) return 'double percent-encoding';
  if (/;|%3b/i.test(rawPath)) return 'path parameter (;)';
  if (/%(?:[01][0-9a-f]|7f)/i.test(rawPath)) return 'encoded control character';
  if (/%(?![0-9a-f]{2})/i.test(rawPath)) return 'malformed percent-encoding';
  if (!escapesAreUtf8(rawPath)) return 'percent-encoding that is not UTF-8';
  if (/\s(?:\/|$)/u.test(decodeAll(rawPath))) return 'a segment ending in whitespace';
  return undefined;
}

// Enough for %252561 (three levels); a target that still has escapes after that is decoded no further.
const MAX_DECODE_ROUNDS = 4;

/**
 * The widest reading of a raw path that some upstream might take: every escape decoded (repeatedly,
 * so double encoding is undone), `\` read as `/`, cut at a NUL, `;` parameters dropped from each
 * segment, trailing whitespace trimmed from each segment, then dot segments resolved and `//`
 * collapsed. Used only for ambiguous targets: a rule that matches this reading may apply upstream.
 *
 * @example
 * ```ts
 * lenientPath('/%2561dmin/x'); // '/admin/x'
 * lenientPath('/secret;x');    // '/secret'
 * ```
 */
export function lenientPath(rawPath: string): string {
  let p = rawPath;
  for (let i = 0; i < MAX_DECODE_ROUNDS && /%[0-9a-f]{2}/i.test(p); i++) p = decodeAll(p);
  const nul = p.indexOf('\0');
  if (nul >= 0) p = p.slice(0, nul);
  const segments = p
    .replace(/\\/g, '/')
    .split('/')
    .map((s) => s.replace(/;.*$/s, '').replace(/[\s\p{Cc}]+$/u, ''));
  const out: string[] = [];
  for (const s of segments) {
    if (s === '' || s === '.') continue;
    if (s === '..') out.pop();
    else out.push(s);
  }
  const last = segments[segments.length - 1];
  // `/admin/` and `/admin/.` name the directory: keep the slash so a prefix `/admin/` matches.
  const dir = out.length > 0 && (last === '' || last === '.' || last === '..');
  return `/${out.join('/')}${dir ? '/' : ''}`;
}

/** The path without one trailing `/` (`/` itself stays `/`): exact paths compare in this form. */
export function withoutTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
