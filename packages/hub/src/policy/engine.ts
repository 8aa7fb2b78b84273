import { type AppDirectory, compileApps } from '../apps/app-directory.js';
import { quotaRules } from '../apps/app-quotas.js';
import { HubError } from '../errors.js';
import type { Policy } from '../pipeline/context.js';
import { type AccessRules, ambiguousTarget, compileAccess, forbidden } from './access.js';
import { compileTrustedProxies, resolveClientIp } from './client-ip.js';
import type { PolicyEngine, PolicyEngineOptions } from './engine-types.js';
import type { IpSet } from './ip.js';
import { createMemoryStore } from './memory-store.js';
import { type CompiledRateRule, compileRateLimits } from './rate-limit.js';
import { createRateLimiting } from './rate-limit-policy.js';
import { viewOf } from './request-view.js';
import { type CompiledSection, SECTION_NAMES, type SectionName } from './section.js';
import type { PolicyDoc, ValidationResult } from './types.js';
import { validateWithSections } from './validate-sections.js';

export type { PolicyEngine, PolicyEngineOptions } from './engine-types.js';
export { validateWithSections };

interface Compiled {
  readonly doc: PolicyDoc;
  readonly trusted: IpSet | undefined;
  readonly access: AccessRules;
  /** No access rule and no `paths.rejectAmbiguous`: every request is allowed, nothing to look at. */
  readonly allowAll: boolean;
  readonly rates: readonly CompiledRateRule[];
  readonly apps: AppDirectory;
  readonly sections: Partial<Record<SectionName, CompiledSection>>;
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
  const rateLimiting = createRateLimiting({ rates: () => compiled.rates, store, now, log });

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
      allowAll: (doc.access ?? []).length === 0 && doc.paths?.rejectAmbiguous !== true,
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
    slot.idle = () => compiled.sections[name]?.policy === undefined;
    return [slot];
  };

  // The steps below cost nothing when their part of the policy is empty: no request view (URL
  // parsing, IP parsing, header maps) is built and no promise of their own is made; they hand the
  // request straight to the next step. A step that throws synchronously is turned into a rejection
  // by compose, as an async function's throw would be.
  const clientIpPolicy: Policy = function clientIp(ctx, next) {
    ctx.clientIp = resolveClientIp(
      ctx.req.socket.remoteAddress ?? ctx.clientIp,
      ctx.req.headers,
      compiled.trusted,
    );
    return next();
  };

  const checkAccess: Policy = async function accessRules(ctx, next) {
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
  const accessPolicy: Policy = function accessRules(ctx, next) {
    return compiled.allowAll ? next() : checkAccess(ctx, next);
  };
  accessPolicy.idle = () => compiled.allowAll;

  const { policy: limitRates, chargeBytes } = rateLimiting;
  const rateLimitPolicy: Policy = function rateLimits(ctx, next) {
    return compiled.rates.length === 0 ? next() : limitRates(ctx, next);
  };
  rateLimitPolicy.idle = () => compiled.rates.length === 0;

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
    onRequestEnd: (ctx) => rateLimiting.release(ctx),
    async close() {
      await disposeSections(compiled, undefined);
      await store.close();
    },
  };
}
