import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseDuration } from '@slime/protocol';
import type { Logger } from 'pino';
import type { AdminRoute } from '../admin/admin-server.js';
import { applyPolicy, inTurn } from '../admin/policy-commit.js';
import { allowMethods, readBody } from '../admin/request.js';
import { AdminError, sendJson } from '../admin/respond.js';
import { HubError } from '../errors.js';
import type { PolicyEngine } from '../policy/engine.js';
import type { PolicyDoc } from '../policy/types.js';
import { type AppEdit, addApp, listApps, type NewApp, removeApp, rotateApp } from './app-edit.js';

/** Default overlap of a rotation: old keys keep working this long. */
export const DEFAULT_OVERLAP_MS = 24 * 3600_000;

export interface AppRoutesOptions {
  /** The engine the admin API changes (with --redis, the policy sync's: changes reach every hub). */
  engine: PolicyEngine;
  /** Where changes persist, as for `PUT /policy`. */
  policyPath?: string | undefined;
  now?: () => number;
  logger?: Logger | undefined;
}

const NEW_APP_FIELDS = ['name', 'weight', 'maxPriority', 'maxQueue', 'quotas'] as const;

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req, 64 * 1024);
  let body: unknown;
  try {
    body = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new AdminError(400, 'ERR_HUB_BAD_REQUEST', 'body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new AdminError(400, 'ERR_HUB_BAD_REQUEST', 'body must be a JSON object');
  return body as Record<string, unknown>;
}

function nameFrom(url: URL, body: Record<string, unknown> = {}): string {
  const name = url.searchParams.get('name') ?? body.name;
  if (typeof name !== 'string' || name === '')
    throw new AdminError(400, 'ERR_HUB_BAD_REQUEST', 'give the application as ?name=NAME');
  return name;
}

function overlapFrom(url: URL, body: Record<string, unknown>): number {
  const raw = url.searchParams.get('overlap') ?? body.overlap;
  if (raw === undefined || raw === null) return DEFAULT_OVERLAP_MS;
  const ms = typeof raw === 'number' ? raw * 1000 : raw === '0' ? 0 : parseDuration(String(raw));
  if (ms === undefined || !Number.isFinite(ms) || ms < 0)
    throw new AdminError(400, 'ERR_HUB_BAD_REQUEST', 'overlap must be a duration like "1h" or "0"');
  return ms;
}

/**
 * `GET/POST/DELETE /apps` and `POST /apps/rotate` on the admin API. A change is a policy update:
 * validated, persisted like `PUT /policy`, applied, and with --redis published to every hub, so a
 * removed application (or an old key after `overlap=0`) is refused everywhere at once. A new key
 * is in the answer of the call that made it and nowhere else.
 *
 * @example
 * ```ts
 * createAdminServer({ token, engine, routes: { ...ops.adminRoutes(), ...appRoutes({ engine }) } });
 * // curl -X POST -H "Authorization: Bearer $T" -d '{"name":"chat","weight":3}' :8081/apps
 * ```
 */
export function appRoutes(options: AppRoutesOptions): Record<string, AdminRoute> {
  const { engine, policyPath, logger } = options;
  if (!engine || typeof engine.update !== 'function') throw new TypeError('engine must be a PolicyEngine');
  const now = options.now ?? Date.now;
  const rejected = (errors: string[]) =>
    new AdminError(400, 'ERR_HUB_INVALID_POLICY', 'application rejected', { errors });

  /** In the same turns as PUT /policy: each edit starts from the policy its turn finds. */
  const commit = (edit: (doc: PolicyDoc) => AppEdit): Promise<AppEdit> =>
    inTurn(engine, async () => {
      let result: AppEdit;
      try {
        result = edit(engine.current());
      } catch (err) {
        if (err instanceof HubError && err.code === 'ERR_HUB_NOT_FOUND')
          throw new AdminError(404, 'ERR_HUB_NOT_FOUND', err.message);
        if (err instanceof HubError || err instanceof RangeError)
          throw new AdminError(400, 'ERR_HUB_BAD_REQUEST', err.message);
        throw err;
      }
      await applyPolicy(engine, policyPath, result.doc, rejected);
      return result;
    });

  async function apps(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    allowMethods(req, ['GET', 'HEAD', 'POST', 'DELETE']);
    if (req.method === 'GET' || req.method === 'HEAD') {
      sendJson(res, 200, { apps: listApps(engine.current(), now()) });
      return;
    }
    if (req.method === 'DELETE') {
      const name = nameFrom(url);
      await commit((doc) => removeApp(doc, name));
      logger?.info({ app: name }, 'application removed; its keys are refused from now on');
      sendJson(res, 200, { removed: name });
      return;
    }
    const body = await jsonBody(req);
    const extra = Object.keys(body).filter((k) => !NEW_APP_FIELDS.includes(k as never));
    if (extra.length > 0)
      throw new AdminError(
        400,
        'ERR_HUB_BAD_REQUEST',
        `unknown fields: ${extra.join(', ')} (keys are made by the hub)`,
      );
    const spec = body as unknown as NewApp;
    const { key } = await commit((doc) => addApp(doc, spec, now()));
    logger?.info({ app: spec.name }, 'application added');
    sendJson(res, 201, { name: spec.name, key });
  }

  async function rotate(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    allowMethods(req, ['POST']);
    const body = await jsonBody(req);
    const name = nameFrom(url, body);
    const overlapMs = overlapFrom(url, body);
    const { key } = await commit((doc) => rotateApp(doc, name, overlapMs, now()));
    const until = new Date(now() + overlapMs).toISOString();
    logger?.info({ app: name, oldKeysUntil: until }, 'application key rotated');
    sendJson(res, 200, { name, key, oldKeysUntil: until });
  }

  return { '/apps': apps, '/apps/rotate': rotate };
}
