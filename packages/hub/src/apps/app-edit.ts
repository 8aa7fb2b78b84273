import { HubError } from '../errors.js';
import type { PolicyDoc } from '../policy/types.js';
import { generateAppKey, hashAppKey, keyId } from './app-keys.js';
import type { AppQuotas, AppSpec, Priority } from './app-types.js';

/** What `slime hub app add` and `POST /apps` may set; keys are always made by the hub. */
export interface NewApp {
  name: string;
  weight?: number;
  maxPriority?: Priority;
  maxQueue?: number;
  quotas?: AppQuotas;
}

/** A change to the policy, and the new key to show once (add and rotate). */
export interface AppEdit {
  doc: PolicyDoc;
  key?: string;
}

/** One application as listings show it: settings and key ids, never hashes. */
export interface AppListing {
  name: string;
  weight: number;
  maxPriority: Priority;
  maxQueue?: number;
  quotas?: AppQuotas;
  keys: { id: string; created?: string; expires?: string; expired: boolean }[];
}

const notFound = (name: string) => new HubError('ERR_HUB_NOT_FOUND', `no application named "${name}"`);

function apps(doc: PolicyDoc): AppSpec[] {
  return structuredClone(doc.apps ?? []);
}

/** Adds an application with a fresh key. The result still goes through policy validation. */
export function addApp(doc: PolicyDoc, app: NewApp, nowMs: number): AppEdit {
  const list = apps(doc);
  if (list.some((a) => a.name === app.name))
    throw new HubError('ERR_HUB_BAD_REQUEST', `application "${app.name}" exists; rotate its key instead`);
  const key = generateAppKey();
  const spec: AppSpec = { ...structuredClone(app), keys: [{ hash: hashAppKey(key), created: iso(nowMs) }] };
  return { doc: { ...doc, apps: [...list, spec] }, key };
}

/**
 * Gives an application a new key. Its other keys keep working for `overlapMs` more (so clients
 * can move over), then are refused; keys already past their expiry are dropped. `overlapMs` 0
 * revokes the old keys at once.
 */
export function rotateApp(doc: PolicyDoc, name: string, overlapMs: number, nowMs: number): AppEdit {
  if (!Number.isFinite(overlapMs) || overlapMs < 0) throw new RangeError('overlapMs must be >= 0');
  const list = apps(doc);
  const app = list.find((a) => a.name === name);
  if (!app) throw notFound(name);
  const until = nowMs + overlapMs;
  const kept =
    overlapMs === 0
      ? []
      : (app.keys ?? [])
          .filter((k) => k.expires === undefined || Date.parse(k.expires) > nowMs)
          .map((k) =>
            k.expires !== undefined && Date.parse(k.expires) <= until ? k : { ...k, expires: iso(until) },
          );
  const key = generateAppKey();
  app.keys = [...kept, { hash: hashAppKey(key), created: iso(nowMs) }];
  return { doc: { ...doc, apps: list }, key };
}

/** Removes an application: its keys are refused from the moment the policy applies. */
export function removeApp(doc: PolicyDoc, name: string): AppEdit {
  const list = apps(doc);
  if (!list.some((a) => a.name === name)) throw notFound(name);
  // An empty list stays: keys are still required, and none is valid (see AppDirectory.required).
  return { doc: { ...doc, apps: list.filter((a) => a.name !== name) } };
}

export function listApps(doc: PolicyDoc, nowMs: number): AppListing[] {
  return (doc.apps ?? []).map((a) => ({
    name: a.name,
    weight: a.weight ?? 1,
    maxPriority: a.maxPriority ?? 'normal',
    ...(a.maxQueue !== undefined ? { maxQueue: a.maxQueue } : {}),
    ...(a.quotas !== undefined ? { quotas: a.quotas } : {}),
    keys: (a.keys ?? []).map((k) => ({
      id: keyId(k.hash),
      ...(k.created !== undefined ? { created: k.created } : {}),
      ...(k.expires !== undefined ? { expires: k.expires } : {}),
      expired: k.expires !== undefined && Date.parse(k.expires) <= nowMs,
    })),
  }));
}

const iso = (ms: number) => new Date(ms).toISOString();
