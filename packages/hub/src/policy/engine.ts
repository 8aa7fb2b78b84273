import type { Logger } from 'pino';
import { type AppDirectory, compileApps } from '../apps/app-directory.js';
import { quotaRules } from '../apps/app-quotas.js';
import { HubError } from '../errors.js';
import type { Policy, RequestContext } from '../pipeline/context.js';
import { type AccessRules, ambiguousTarget, compileAccess, forbidden } from './access.js';
import { compileTrustedProxies, resolveClientIp } from './client-ip.js';
import { createInFlight } from './concurrency.js';
import type { IpSet } from './ip.js';
import { createMemoryStore } from './memory-store.js';
import {
  applicable,
  type CompiledRateRule,
  compileRateLimits,
  contentLength,
  limitSpec,
  retryAfterMs,
} from './rate-limit.js';
import { rateLimitHeaders } from './ratelimit-headers.js';
import { viewOf } from './request-view.js';
import { type CompiledSection, type PolicySections, SECTION_NAMES, type SectionName } from './section.js';
import type { CounterStore, LimitSpec } from './store.js';
import type { PolicyDoc, ValidationResult } from './types.js';
import { validateWithSections } from './validate-sections.js';

export { validateWithSections };

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

interface Compiled {
  readonly doc: PolicyDoc;
  readonly trusted: IpSet | undefined;
  readonly access: AccessRules;
  readonly rates: readonly CompiledRateRule[];
  readonly apps: AppDirectory;
  readonly sections: Partial<Record<SectionName, CompiledSection>>;
}

interface Tracked {
  readonly byteSpecs: readonly LimitSpec[];
  readonly requestBytesKnown: boolean;
  readonly release: () => void;
}

/**
 * The access-rule and rate-limit engine. One instance per hub; `update` swaps the rules under
 * running traffic.
 *
 * @example
 * ```ts
 * const engine = createPolicyEngine({ policy: await loadPolicyFile(path), logger });
 * const { access, rateLimits } = engine.slots();
 * buildPipeline({ ...deps, access, rateLimits });
 * ```
 */
export function createPolicyEngine(options: PolicyEngineOptions = {}): PolicyEngine {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('now must be a function');
  if (options.random !== undefined && typeof options.random !== 'function')
    throw new TypeError('random must be a function');
  const store = options.store ?? createMemoryStore();
  if (typeof store.checkAndCharge !== 'function') throw new TypeError('store must be a CounterStore');
  const log = options.logger;
  const fallbackTrusted = compileTrustedProxies(options.trustedProxies);
  const inFlight = createInFlight();
  const tracked = new WeakMap<RequestContext, Tracked>();

  const modules = options.sections ?? {};
  const invalid = (errors: readonly string[]) =>
    new HubError('ERR_HUB_INVALID_POLICY', `invalid policy:\n${errors.map((e) => `  - ${e}`).join('\n')}`, {
      details: errors,
    });

  const validate = (policy: unknown): ValidationResult => validateWithSections(policy, modules);

  const compile = (policy: unknown, previous: Compiled | undefined): Compiled => {
    const r = validate(policy);
    if (!r.ok) throw invalid(r.errors);
    const doc = r.policy;
    const sections: Partial<Record<SectionName, CompiledSection>> = {};
    for (const name of SECTION_NAMES) {
      const module = modules[name];
      if (!module) continue;
      try {
        sections[name] = module.compile(doc[name], previous?.sections[name]);
      } catch (err) {
        // Valid input should always compile; if not, report it as the user's error, not a crash.
        for (const built of Object.values(sections)) void built.dispose?.();
        throw invalid([`${name} ${err instanceof Error ? err.message : String(err)}`]);
      }
    }
    return {
      doc,
      trusted: doc.trustedProxies ? compileTrustedProxies(doc.trustedProxies) : fallbackTrusted,
      access: compileAccess(doc.access ?? [], doc.paths),
      // App quotas are rate-limit rules: one store, one 429, one set of RateLimit headers.
      rates: compileRateLimits([...(doc.ratelimits ?? []), ...quotaRules(doc.apps)], doc.paths),
      apps: compileApps(doc.apps, now),
      sections,
    };
  };
  let compiled = compile(options.policy, undefined);

  const disposeSections = (old: Compiled, kept: Compiled | undefined) =>
    Promise.all(
      SECTION_NAMES.map((name) => {
        const s = old.sections[name];
        if (!s || s === kept?.sections[name]) return undefined;
        return Promise.resolve()
          .then(() => s.dispose?.())
          .catch((err: unknown) => log?.warn({ err, section: name }, 'disposing a policy section failed'));
      }),
    );

  const sectionSlot = (name: SectionName): Policy[] => {
    if (!modules[name]) return [];
    const slot: Policy = (ctx, next) => {
      const policy = compiled.sections[name]?.policy;
      return policy ? policy(ctx, next) : next();
    };
    Object.defineProperty(slot, 'name', { value: name });
    return [slot];
  };

  const clientIpPolicy: Policy = async function clientIp(ctx, next) {
    ctx.clientIp = resolveClientIp(
      ctx.req.socket.remoteAddress ?? ctx.clientIp,
      ctx.req.headers,
      compiled.trusted,
    );
    await next();
  };

  const accessPolicy: Policy = async function accessRules(ctx, next) {
    const decision = compiled.access(viewOf(ctx));
    if (decision.action === 'reject') {
      ctx.notes.accessRule = decision.rule;
      ctx.notes.ambiguousTarget = decision.reason ?? 'ambiguous';
      throw ambiguousTarget(decision.reason ?? 'ambiguous');
    }
    if (decision.action === 'deny') {
      ctx.notes.accessRule = decision.rule;
      throw forbidden();
    }
    await next();
  };

  const rateLimitPolicy: Policy = async function rateLimits(ctx, next) {
    const applied = applicable(compiled.rates, viewOf(ctx));
    if (applied.length === 0) return next();
    const held: string[] = [];
    for (const a of applied) {
      if (a.rule.concurrency === undefined) continue;
      if (!inFlight.tryAcquire(a.id, a.rule.concurrency)) {
        for (const id of held) inFlight.release(id);
        ctx.notes.rateLimit = a.rule.name;
        throw new HubError('ERR_HUB_OVERLOADED', 'too many requests in flight', { retryAfter: 1 });
      }
      held.push(a.id);
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      for (const id of held) inFlight.release(id);
    };
    // A slot is held until the response has been written (or the client left), which happens
    // after this policy returns; the listener goes on first so no 'close' is missed.
    if (held.length > 0) ctx.res.once('close', release);
    let passed = false;
    try {
      const counted = applied.filter((a) => a.rule.limit !== undefined);
      const known = contentLength(ctx);
      const specs = counted.map((a) => limitSpec(a, known ?? 0));
      if (specs.length > 0) {
        const result = await store.checkAndCharge(specs, now());
        const headers = rateLimitHeaders(counted.map((a, i) => ({ rule: a.rule, state: result.limits[i]! })));
        if (!result.admitted) {
          ctx.notes.rateLimit = counted
            .filter((_, i) => !result.limits[i]!.allowed)
            .map((a) => a.rule.name)
            .join(',');
          throw new HubError('ERR_HUB_RATE_LIMITED', 'rate limit exceeded', {
            retryAfter: retryAfterMs(counted, result.limits) / 1000,
            ...(headers ? { headers } : {}),
          });
        }
        if (headers) Object.assign(ctx.responseHeaders, headers);
      }
      const byteSpecs = specs.filter((_, i) => counted[i]!.rule.bytes);
      tracked.set(ctx, { byteSpecs, requestBytesKnown: known !== undefined, release });
      await next();
      passed = true;
    } finally {
      if (!passed || ctx.signal.aborted) release();
    }
  };

  const chargeBytes = (ctx: RequestContext, n: number, request: boolean) => {
    const t = tracked.get(ctx);
    if (!t || t.byteSpecs.length === 0 || !(n > 0)) return;
    if (request && t.requestBytesKnown) return;
    store
      .charge(t.byteSpecs, n, now())
      .catch((err: unknown) => log?.warn({ err }, 'rate-limit store charge failed'));
  };

  return {
    clientIpPolicy,
    accessPolicy,
    rateLimitPolicy,
    slots: () => ({
      access: [clientIpPolicy, accessPolicy],
      rateLimits: [rateLimitPolicy],
      router: sectionSlot('router'),
      fallback: sectionSlot('fallback'),
      shaping: sectionSlot('shaping'),
    }),
    apps: () => compiled.apps,
    section: (name) => compiled.sections[name],
    current: () => structuredClone(compiled.doc),
    validate,
    update(policy) {
      const previous = compiled;
      const next = compile(policy, previous);
      compiled = next;
      void disposeSections(previous, next);
      const hashes = new Set(next.rates.map((r) => r.hash));
      store
        .retainRules(hashes)
        .catch((err: unknown) => log?.warn({ err }, 'rate-limit store cleanup failed'));
      log?.info({ access: next.doc.access?.length ?? 0, ratelimits: next.rates.length }, 'policy applied');
      return structuredClone(next.doc);
    },
    onRequestBytes: (ctx, n) => chargeBytes(ctx, n, true),
    onResponseBytes: (ctx, n) => chargeBytes(ctx, n, false),
    onRequestEnd: (ctx) => tracked.get(ctx)?.release(),
    async close() {
      await disposeSections(compiled, undefined);
      await store.close();
    },
  };
}
