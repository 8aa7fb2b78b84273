import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AttemptOutcome, PolicyDoc, PolicyEngine } from '@slime/hub';
import { readAll, startHub, type TestHub } from './harness.js';

export interface RoutingHub extends TestHub {
  engine: PolicyEngine;
  attempts: AttemptOutcome[];
}

/** A hub with `policy` in force, its fallback attempts recorded. */
export async function startRoutingHub(policy: PolicyDoc, random?: () => number): Promise<RoutingHub> {
  const attempts: AttemptOutcome[] = [];
  const h = await startHub({
    policy,
    ...(random ? { random } : {}),
    hooks: { onFallbackAttempt: (o) => attempts.push(o) },
  });
  return { ...h, engine: h.hub.engine, attempts };
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
