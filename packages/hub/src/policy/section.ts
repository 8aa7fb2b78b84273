import type { Policy } from '../pipeline/context.js';

/** The policy-file sections owned by modules outside the core engine. */
export const SECTION_NAMES = ['router', 'fallback', 'shaping'] as const;
export type SectionName = (typeof SECTION_NAMES)[number];

/**
 * One section of the policy document that a module outside the core rules owns (router,
 * fallback, shaping). The engine validates every section before applying any of them, so an
 * update is all or nothing across sections.
 */
export interface PolicySection {
  /** Every problem with the raw section, each as `path message` (path starts with `path`). */
  validate(raw: unknown, path: string): string[];
  /**
   * Builds the runtime of a validated section (`undefined` when the document has none). The
   * instance it replaces is passed so state (learned limits, counters) can carry over; the
   * engine disposes the old one after the swap.
   */
  compile(raw: unknown, previous: CompiledSection | undefined): CompiledSection;
}

export interface CompiledSection {
  /** Runs in the section's pipeline slot; absent = the slot just calls next(). */
  readonly policy?: Policy;
  /** Called once the section is replaced or the engine closes. */
  dispose?(): void | Promise<void>;
}

export type PolicySections = Partial<Record<SectionName, PolicySection>>;
