import { HubError } from '../../src/errors.js';
import { compose } from '../../src/pipeline/compose.js';
import type { PolicyEngine } from '../../src/policy/index.js';
import { type FakeContext, type FakeRequest, fakeContext } from './fake-context.js';

export type Outcome = { ok: true; ctx: FakeContext } | { ok: false; ctx: FakeContext; err: HubError };

/** Runs a request through the engine's slots up to a terminal policy that stands for dispatch. */
export async function send(engine: PolicyEngine, r: FakeRequest | FakeContext = {}): Promise<Outcome> {
  const ctx = 'notes' in r ? r : fakeContext(r);
  const { access, rateLimits } = engine.slots();
  let reached = false;
  const run = compose([
    ...access,
    ...rateLimits,
    async function terminal() {
      reached = true;
    },
  ]);
  try {
    await run(ctx);
  } catch (err) {
    if (err instanceof HubError) return { ok: false, ctx, err };
    throw err;
  }
  if (!reached) throw new Error('pipeline neither threw nor reached dispatch');
  return { ok: true, ctx };
}

/** Sends `n` identical requests and returns how many were admitted. */
export async function admittedOf(engine: PolicyEngine, n: number, r: FakeRequest = {}): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) if ((await send(engine, r)).ok) ok++;
  return ok;
}

export function statusOf(o: Outcome): number {
  return o.ok ? 200 : o.err.status;
}
