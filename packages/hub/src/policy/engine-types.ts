import type { Logger } from 'pino';
import type { AppDirectory } from '../apps/app-directory.js';
import type { Policy, RequestContext } from '../pipeline/context.js';
import type { CompiledSection, PolicySections, SectionName } from './section.js';
import type { CounterStore } from './store.js';
import type { PolicyDoc, ValidationResult } from './types.js';

export interface PolicyEngineOptions {
  /** The policy in force at start; validated here. Default: no rules. */
  policy?: PolicyDoc;
  /** Clock in ms. Default Date.now. */
  now?: () => number;
  /** Accepted so the hub can hand every component the same deps; the engine draws no randomness yet. */
  random?: () => number;
  logger?: Logger;
  /** Where counters live. Default: in memory, at most 100 000 counters. */
  store?: CounterStore;
  /** Used when the policy has no trustedProxies of its own (the hub's --trusted-proxies). */
  trustedProxies?: readonly string[];
  /**
   * Modules that own the `router`, `fallback` and `shaping` sections. A section without one is
   * kept as given and has no effect.
   */
  sections?: PolicySections;
}

export interface PolicyEngine {
  /** Sets ctx.clientIp from the socket and, behind trusted proxies, X-Forwarded-For. */
  readonly clientIpPolicy: Policy;
  /**
   * Access rules: throws ERR_HUB_FORBIDDEN (403), or ERR_HUB_MALFORMED_REQUEST (400) for an
   * ambiguous target that `paths.rejectAmbiguous` or a rule's `match.rejectAmbiguous` refuses.
   */
  readonly accessPolicy: Policy;
  /** Rate limits: throws ERR_HUB_RATE_LIMITED (429) or ERR_HUB_OVERLOADED (503, concurrency). */
  readonly rateLimitPolicy: Policy;
  /** The policies for the pipeline's slots; each delegates to the rules in force. */
  slots(): {
    access: Policy[];
    rateLimits: Policy[];
    router: Policy[];
    fallback: Policy[];
    shaping: Policy[];
  };
  /** The applications of the policy in force (keys, weights, queue limits), for app auth and fairness. */
  apps(): AppDirectory;
  /** The runtime of a section now in force (for metrics and status), if it has a module. */
  section(name: SectionName): CompiledSection | undefined;
  /** The policy in force (a copy). */
  current(): PolicyDoc;
  /** Checks a policy as `update` would (core rules and every section), without applying it. */
  validate(policy: unknown): ValidationResult;
  /**
   * Validates and applies a policy atomically: requests already past a policy finish under the
   * old rules, later ones see only the new. Counters of unchanged rules carry over. Throws
   * ERR_HUB_INVALID_POLICY (listing every problem) and keeps the old policy on bad input.
   */
  update(policy: unknown): PolicyDoc;
  /** Request body bytes as they are read; counted only when the request had no Content-Length. */
  onRequestBytes(ctx: RequestContext, n: number): void;
  /** Response body bytes as they are written to the client. */
  onResponseBytes(ctx: RequestContext, n: number): void;
  /** Frees the request's concurrency slots now (idempotent; also done on res 'close'). */
  onRequestEnd(ctx: RequestContext): void;
  close(): Promise<void>;
}
