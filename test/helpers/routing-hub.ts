import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type AttemptOutcome,
  createFallbackSection,
  createPolicyEngine,
  createRouterSection,
  type PolicyDoc,
  type PolicyEngine,
} from '@slime/hub';
import { readAll, startHub, type TestHub } from './harness.js';

export interface RoutingHub extends TestHub {
  engine: PolicyEngine;
  attempts: AttemptOutcome[];
}

/** A hub whose policy engine has the router and fallback sections, as `slime hub run` wires it. */
export async function startRoutingHub(policy: PolicyDoc, random?: () => number): Promise<RoutingHub> {
  const attempts: AttemptOutcome[] = [];
  const engine = createPolicyEngine({
    policy,
    sections: {
      router: createRouterSection(random ? { random } : {}),
      fallback: createFallbackSection({ onAttempt: (o) => attempts.push(o) }),
    },
  });
  const h = await startHub({}, { policies: engine.slots() });
  return {
    ...h,
    engine,
    attempts,
    async [Symbol.asyncDispose]() {
      await h.hub.close();
      await engine.close();
    },
  };
}

export interface Echo {
  who: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  bodyLength: number;
  bodySha256: string;
}

/** An upstream handler that answers `status` with a JSON echo of what it received. */
export function echo(who: string, status = 200) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readAll(req);
    const out: Echo = {
      who,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      bodyLength: body.length,
      bodySha256: createHash('sha256').update(body).digest('hex'),
    };
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(out));
  };
}
