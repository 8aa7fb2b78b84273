import type { PolicyEngine } from '../policy/engine.js';
import { savePolicyFile } from '../policy/policy-file.js';
import type { PolicyDoc } from '../policy/types.js';
import { AdminError } from './respond.js';

// One queue per engine: PUT /policy and the /apps routes change the same document, so each change
// must start from the policy the previous one left, whichever route made it.
const turns = new WeakMap<PolicyEngine, Promise<unknown>>();

/** Runs `change` after every change of `engine` already queued through the admin API. */
export function inTurn<T>(engine: PolicyEngine, change: () => Promise<T>): Promise<T> {
  const run = (turns.get(engine) ?? Promise.resolve()).then(change);
  turns.set(
    engine,
    run.catch(() => {}),
  );
  return run;
}

/**
 * Validates `doc` whole, writes it to `policyPath` (when given) and swaps it in; on any failure
 * nothing changes. `invalid` builds the answer for a rejected document.
 */
export async function applyPolicy(
  engine: PolicyEngine,
  policyPath: string | undefined,
  doc: unknown,
  invalid: (errors: string[]) => Error,
): Promise<PolicyDoc> {
  const r = engine.validate(doc);
  if (!r.ok) throw invalid(r.errors);
  if (policyPath !== undefined) {
    try {
      await savePolicyFile(policyPath, r.policy);
    } catch (err) {
      throw new AdminError(500, 'ERR_HUB_INTERNAL', 'could not write the policy file; nothing changed', {
        cause: err,
      });
    }
  }
  engine.update(r.policy);
  return r.policy;
}
