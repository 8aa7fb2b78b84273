import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import {
  BLOOM_PHASES,
  BLOOM_PLUGINS,
  type BloomPlugin,
  type PolicyDoc,
  type PolicyEngine,
  parsePolicyText,
  translateBloomAccess,
  translateBloomRateLimits,
} from '../policy/index.js';
import { translateBloomFallback, translateBloomRouter } from '../routing/bloom-routing.js';
import { applyPolicy, inTurn } from './policy-commit.js';
import { allowMethods, readBody } from './request.js';
import { AdminError, sendJson } from './respond.js';

export interface PolicyRoutesOptions {
  engine: PolicyEngine;
  policyPath: string | undefined;
  /** Where the engine itself keeps the policy beyond this process (e.g. `redis`), if anywhere. */
  sharedStore?: string | undefined;
  logger: Logger | undefined;
  maxBodyBytes: number;
}

/** Said with every change that lives in this process's memory only. */
export const NOT_PERSISTED_WARNING =
  'the change is applied in memory only and is lost when the hub restarts: start the hub with --policy <file> or --state-dir <dir> to persist it';

/**
 * Response-only members of `PUT /policy` answers. They are not policy keys, so a body that echoes
 * them back (a PUT of a previous answer) has them removed before validation.
 */
const RESPONSE_ONLY = ['persisted', 'warning'] as const;

/** The body without {@link RESPONSE_ONLY} members, or undefined when it has none to remove. */
function withoutResponseMembers(text: string, yaml: boolean): unknown {
  let doc: unknown;
  try {
    doc = yaml ? parseYaml(text) : JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const rest: Record<string, unknown> = { ...(doc as Record<string, unknown>) };
  if (!RESPONSE_ONLY.some((k) => k in rest)) return undefined;
  for (const k of RESPONSE_ONLY) delete rest[k];
  return rest;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

const invalid = (errors: string[]) =>
  new AdminError(400, 'ERR_HUB_INVALID_POLICY', 'policy rejected; the previous policy stays in force', {
    errors,
  });

const TRANSLATE: Record<
  BloomPlugin,
  (body: unknown) => { ok: true; rules: unknown[] } | { ok: false; errors: string[] }
> = {
  access: translateBloomAccess,
  ratelimiter: translateBloomRateLimits,
  router: translateBloomRouter,
  fallback: translateBloomFallback,
};

/**
 * `GET/PUT /policy` and BloomGateway's `POST /update/config`. Changes are serialised: each is
 * validated, written to the policy file (temp file, then rename) and only then applied, so the
 * file and the running policy never disagree and a failed write changes nothing. A Bloom update
 * is built from the policy current when its turn comes, so two concurrent updates both land.
 *
 * Every change answer says whether it outlives the process: the `Slime-Policy-Persisted` header
 * (`true`/`false`) always, and, when it does not, `"persisted": false` and a `warning` in the
 * body, so a change made without a policy file is never silently lost at the next restart.
 */
export function policyRoutes(options: PolicyRoutesOptions): Record<string, RouteHandler> {
  const { engine, policyPath, logger, maxBodyBytes } = options;
  const persisted = policyPath !== undefined || options.sharedStore !== undefined;
  const persistedHeader = { 'slime-policy-persisted': String(persisted) };
  const notPersisted = persisted ? {} : { persisted: false, warning: NOT_PERSISTED_WARNING };
  const commit = (build: () => unknown): Promise<PolicyDoc> =>
    inTurn(engine, async () => {
      await applyPolicy(engine, policyPath, build(), invalid);
      if (persisted) logger?.info({ policyPath }, 'policy updated through the admin API');
      else logger?.warn('policy updated through the admin API in memory only (no --policy or --state-dir)');
      return engine.current();
    });

  async function policy(req: IncomingMessage, res: ServerResponse): Promise<void> {
    allowMethods(req, ['GET', 'HEAD', 'PUT']);
    if (req.method !== 'PUT') {
      sendJson(res, 200, engine.current());
      return;
    }
    const type = String(req.headers['content-type'] ?? 'application/json').toLowerCase();
    const yaml = /yaml/.test(type);
    if (!yaml && !/json/.test(type)) {
      throw new AdminError(
        415,
        'ERR_HUB_UNSUPPORTED_MEDIA_TYPE',
        'send application/json or application/yaml',
      );
    }
    const text = await readBody(req, maxBodyBytes);
    const parsed = parsePolicyText(text, yaml ? 'body.yaml' : 'body.json');
    const policy = parsed.ok ? parsed.policy : withoutResponseMembers(text, yaml);
    if (policy === undefined) throw invalid(parsed.ok ? [] : parsed.errors);
    const doc = await commit(() => policy);
    sendJson(res, 200, { ...doc, ...notPersisted }, persistedHeader);
  }

  async function updateConfig(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    allowMethods(req, ['POST']);
    const type = url.searchParams.get('type');
    const name = url.searchParams.get('name');
    const phase = url.searchParams.get('phase');
    const plugin = name !== null && Object.hasOwn(BLOOM_PLUGINS, name) ? (name as BloomPlugin) : undefined;
    if (type !== 'plugin' || plugin === undefined || phase !== BLOOM_PHASES[plugin]) {
      throw new AdminError(
        400,
        'ERR_HUB_BAD_REQUEST',
        'expected ?type=plugin&name=access|ratelimiter|router&phase=access or ?type=plugin&name=fallback&phase=error',
      );
    }
    const text = await readBody(req, maxBodyBytes);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new AdminError(400, 'ERR_HUB_BAD_REQUEST', 'body is not valid JSON');
    }
    const t = TRANSLATE[plugin](body);
    if (!t.ok) throw invalid(t.errors);
    const section = BLOOM_PLUGINS[plugin];
    const doc = await commit(() => ({ ...engine.current(), [section]: t.rules }));
    sendJson(res, 200, { [section]: doc[section] ?? [], persisted, ...notPersisted }, persistedHeader);
  }

  return { '/policy': policy, '/update/config': updateConfig };
}
