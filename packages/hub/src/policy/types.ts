import type { AppSpec } from '../apps/app-types.js';

/**
 * The policy document as written in a policy file or sent to `PUT /policy`. `validatePolicy`
 * turns untrusted input into this shape; everything downstream may rely on it.
 */

/** Condition on a header or query parameter: present (neither value nor regex), equal, or matching. */
export interface ValueCondition {
  name: string;
  /** Exact value. */
  value?: string;
  /** Regular expression, always anchored (`^(?:re)$`). */
  regex?: string;
}

/** One value or a list of alternatives (any-of). */
export type OneOrMany<T> = T | T[];

/**
 * Everything given must hold (AND); a list within one field is any-of (OR). Kept in the form the
 * operator wrote it, so `GET /policy` and the persisted file read back the same.
 */
export interface MatchSpec {
  /** Exact paths; one trailing `/` is ignored on either side (`/secret` matches `/secret/`). */
  path?: OneOrMany<string>;
  /** Path prefixes (plain string prefixes of the normalised path). */
  pathPrefix?: OneOrMany<string>;
  /** `path` and `pathPrefix` ignore case; absent = the policy's `paths.caseInsensitive`. */
  caseInsensitive?: boolean;
  /**
   * Access rules only: an ambiguous target (see `PathOptions.rejectAmbiguous`) that this rule
   * matches under the hub's reading or the widest reading an upstream might take is refused with
   * 400 before any access rule decides, whatever this rule's action and place in the list.
   */
  rejectAmbiguous?: boolean;
  /** Methods, case-insensitive. */
  method?: OneOrMany<string>;
  /** Every condition must hold; header names are case-insensitive. */
  header?: OneOrMany<ValueCondition>;
  /** Every condition must hold; any occurrence of a repeated parameter may satisfy it. */
  param?: OneOrMany<ValueCondition>;
  /** Client IPs or CIDRs (IPv4 or IPv6). */
  ip?: OneOrMany<string>;
  /** Authenticated application names. */
  app?: OneOrMany<string>;
  /** Agent scopes (Slime-Scope or a router's choice). */
  scope?: OneOrMany<string>;
  /** Negates the whole match. */
  invert?: boolean;
}

export const ACCESS_ACTIONS = ['deny', 'allow'] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];

export interface AccessRule {
  name?: string;
  action: AccessAction;
  match?: MatchSpec;
}

export const ALGORITHMS = ['sliding-window', 'fixed-window', 'token-bucket'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export const UNITS = ['requests', 'bytes'] as const;
export type Unit = (typeof UNITS)[number];

/** What a keyed rule counts separately: one counter per distinct value. */
export type KeySpec =
  | { kind: 'header'; name: string }
  | { kind: 'param'; name: string }
  | { kind: 'ip' }
  | { kind: 'app' }
  | { kind: 'scope' }
  | { kind: 'path' }
  | { kind: 'method' };

export interface RateLimitRule {
  /** Unique; appears in the RateLimit fields and identifies the rule's counters. */
  name: string;
  match?: MatchSpec;
  /** `header:X`, `param:Y`, `ip`, `app`, `scope`, `path` or `method`; absent = one counter. */
  key?: string;
  /** `*` (default): one counter per distinct key value; any other value: only that value. */
  value?: string;
  /** Requests (or bytes) per window; for token-bucket the refill per window. */
  limit?: number;
  /** Window: `"500ms"`, `"30s"`, `"1m"`, `"1h"`, `"1d"`, or seconds as a number. Default 1m. */
  window?: string | number;
  unit?: Unit;
  algorithm?: Algorithm;
  /** Token-bucket capacity; default `limit`. */
  burst?: number;
  /** Most requests in flight at once (per key value for keyed rules). */
  concurrency?: number;
}

/** Sections other parts of the hub own; kept as given. */
export const RESERVED_SECTIONS = ['router', 'fallback', 'shaping'] as const;

/** How request paths are read, for the whole policy (the top-level `paths` section). */
export interface PathOptions {
  /**
   * Refuse every request whose target's path is ambiguous (an encoded `/` or `\`, double encoding,
   * `;` parameters, encoded control characters, a raw `\`, malformed or non-UTF-8 escapes, a
   * segment ending in whitespace) with 400 ERR_HUB_MALFORMED_REQUEST, before access rules.
   * Default false.
   */
  rejectAmbiguous?: boolean;
  /** `path` and `pathPrefix` of access rules and rate limits ignore case. Default false. */
  caseInsensitive?: boolean;
}

export interface PolicyDoc {
  trustedProxies?: string[];
  paths?: PathOptions;
  access?: AccessRule[];
  ratelimits?: RateLimitRule[];
  /** Applications (tenants): hashed keys, weights, priority ceilings, queue limits, quotas. */
  apps?: AppSpec[];
  router?: unknown;
  fallback?: unknown;
  shaping?: unknown;
}

export type ValidationResult = { ok: true; policy: PolicyDoc } | { ok: false; errors: string[] };
