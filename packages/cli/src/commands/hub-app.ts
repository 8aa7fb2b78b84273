import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AppEdit,
  type AppListing,
  addApp,
  DEFAULT_OVERLAP_MS,
  listApps,
  type NewApp,
  type PolicyDoc,
  PRIORITIES,
  type Priority,
  readPolicyDocument,
  removeApp,
  rotateApp,
  savePolicyFile,
  validatePolicy,
} from '@slime/hub';
import type { CliContext } from '../context.js';
import type { Settings } from '../settings.js';
import { textTable } from '../text-table.js';
import { UsageError } from '../usage-error.js';
import { STATE_FILES } from './hub-cluster.js';

/** Where applications are changed: a running hub's admin API, or the policy file a hub reads. */
type Target = { kind: 'admin'; base: string; token: string } | { kind: 'file'; path: string };

function targetOf(settings: Settings): Target {
  const token = settings.string('admin-token');
  if (token !== undefined && token !== '') {
    const base = (settings.string('admin') ?? 'http://127.0.0.1:8081').replace(/\/+$/, '');
    try {
      new URL(base);
    } catch {
      throw new UsageError(`invalid --admin "${base}": expected an http(s) URL`);
    }
    return { kind: 'admin', base, token };
  }
  const policy = settings.string('policy');
  if (policy !== undefined && policy !== '') return { kind: 'file', path: policy };
  const dir = settings.string('state-dir');
  if (dir !== undefined && dir !== '') return { kind: 'file', path: join(dir, STATE_FILES.policy) };
  throw new UsageError(
    'where are the applications? give --admin-token (and --admin) for a running hub, or --policy / --state-dir for its policy file',
  );
}

function nameOf(settings: Settings): string {
  const name = settings.string('name');
  if (name === undefined || name === '') throw new UsageError('give the application with --name <name>');
  return name;
}

function newAppOf(settings: Settings): NewApp {
  const app: NewApp = { name: nameOf(settings) };
  const weight = settings.string('weight');
  if (weight !== undefined) {
    const w = Number(weight);
    if (weight.trim() === '' || !Number.isFinite(w))
      throw new UsageError(`invalid --weight "${weight}": expected a number`);
    app.weight = w;
  }
  const priority = settings.string('max-priority');
  if (priority !== undefined) {
    if (!PRIORITIES.includes(priority as Priority))
      throw new UsageError(`invalid --max-priority "${priority}": expected ${PRIORITIES.join(', ')}`);
    app.maxPriority = priority as Priority;
  }
  const maxQueue = settings.int('max-queue', { min: 1 });
  if (maxQueue !== undefined) app.maxQueue = maxQueue;
  return app;
}

/** Calls the admin API; a refusal becomes one line naming what the hub said. */
async function callAdmin(
  target: Extract<Target, { kind: 'admin' }>,
  method: string,
  path: string,
  body?: unknown,
) {
  let res: Response;
  try {
    res = await fetch(`${target.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new UsageError(`cannot reach the admin API at ${target.base}: ${(err as Error).message}`, {
      exitCode: 1,
    });
  }
  const text = await res.text();
  let doc: Record<string, unknown> = {};
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the status says enough
  }
  if (res.status === 401)
    throw new UsageError('the admin API refused the token (401): check --admin-token', { exitCode: 1 });
  if (res.status >= 300) {
    const errors = Array.isArray(doc.errors) ? doc.errors.map(String) : [];
    throw new UsageError(
      `the hub refused it (${res.status}): ${String(doc.detail ?? doc.title ?? text.slice(0, 200))}`,
      {
        exitCode: 1,
        details: errors,
      },
    );
  }
  return doc;
}

/** The policy file, validated; with `missingIsEmpty`, a file not written yet reads as an empty policy. */
async function readPolicyFile(path: string, missingIsEmpty: boolean): Promise<PolicyDoc> {
  let raw: unknown = {};
  if (existsSync(path)) {
    try {
      raw = await readPolicyDocument(path);
    } catch (err) {
      throw new UsageError(`cannot read ${path}: ${(err as Error).message.split('\n')[0]}`, { exitCode: 1 });
    }
  } else if (!missingIsEmpty) {
    throw new UsageError(`${path} does not exist`, { exitCode: 1 });
  }
  const r = validatePolicy(raw);
  if (!r.ok) throw new UsageError(`invalid policy file ${path}:`, { details: r.errors });
  return r.policy;
}

/** Applies `edit` to the policy file, validated before it is written (temp file, then rename). */
async function editFile(path: string, edit: (doc: PolicyDoc) => AppEdit, create: boolean): Promise<AppEdit> {
  const before = await readPolicyFile(path, create);
  let result: AppEdit;
  try {
    result = edit(before);
  } catch (err) {
    throw new UsageError((err as Error).message, { exitCode: 1 });
  }
  const after = validatePolicy(result.doc);
  if (!after.ok) throw new UsageError('the application is not valid:', { details: after.errors });
  try {
    await savePolicyFile(path, after.policy);
  } catch (err) {
    throw new UsageError(`cannot write ${path}: ${(err as Error).message}`, { exitCode: 1 });
  }
  return result;
}

const RELOAD_HINT = 'a running hub applies it on SIGHUP (or restart)';

/** `slime hub app add --name N [--weight W] [--max-priority P] [--max-queue Q]`: prints the new key once. */
export async function addAppCommand(settings: Settings, ctx: CliContext): Promise<void> {
  const target = targetOf(settings);
  const spec = newAppOf(settings);
  let key: string;
  if (target.kind === 'admin') key = String((await callAdmin(target, 'POST', '/apps', spec)).key);
  else key = (await editFile(target.path, (doc) => addApp(doc, spec, Date.now()), true)).key!;
  ctx.stdout(`${key}\n`);
  const where = target.kind === 'admin' ? 'the hub' : `${target.path}; ${RELOAD_HINT}`;
  ctx.stderr(`added application ${spec.name} to ${where}. The key above is shown only now: store it.\n`);
}

/** `slime hub app rotate --name N [--overlap 24h]`: a new key; old ones expire after the overlap. */
export async function rotateAppCommand(settings: Settings, ctx: CliContext): Promise<void> {
  const target = targetOf(settings);
  const name = nameOf(settings);
  const overlapMs = settings.durationMs('overlap') ?? DEFAULT_OVERLAP_MS;
  let key: string;
  if (target.kind === 'admin') {
    const q = `?name=${encodeURIComponent(name)}&overlap=${Math.round(overlapMs)}ms`;
    key = String((await callAdmin(target, 'POST', `/apps/rotate${q}`)).key);
  } else
    key = (await editFile(target.path, (doc) => rotateApp(doc, name, overlapMs, Date.now()), false)).key!;
  ctx.stdout(`${key}\n`);
  const until = new Date(Date.now() + overlapMs).toISOString();
  ctx.stderr(
    `rotated the key of ${name}; ${overlapMs > 0 ? `old keys work until ${until}` : 'old keys are refused now'}. The key above is shown only now.\n`,
  );
}

/** `slime hub app remove --name N`: its keys are refused from the moment the policy applies. */
export async function removeAppCommand(settings: Settings, ctx: CliContext): Promise<void> {
  const target = targetOf(settings);
  const name = nameOf(settings);
  if (target.kind === 'admin') await callAdmin(target, 'DELETE', `/apps?name=${encodeURIComponent(name)}`);
  else await editFile(target.path, (doc) => removeApp(doc, name), false);
  ctx.stdout(
    `removed application ${name}${target.kind === 'file' ? ` from ${target.path}; ${RELOAD_HINT}` : ''}\n`,
  );
}

/** Renders listings as an aligned table. Pure, for tests. */
export function formatApps(apps: readonly AppListing[]): string {
  const header = ['NAME', 'WEIGHT', 'MAX-PRIORITY', 'MAX-QUEUE', 'KEYS'];
  const rows = apps.map((a) => [
    a.name,
    String(a.weight),
    a.maxPriority,
    a.maxQueue === undefined ? '-' : String(a.maxQueue),
    a.keys
      .map((k) => `${k.id}${k.expired ? '(expired)' : k.expires ? `(until ${k.expires})` : ''}`)
      .join(' ') || '-',
  ]);
  return `${textTable(header, rows)}\n`;
}

/** `slime hub app list [--json]`: names, weights and key ids (never keys or hashes). */
export async function listAppsCommand(settings: Settings, ctx: CliContext): Promise<void> {
  const target = targetOf(settings);
  let apps: AppListing[];
  if (target.kind === 'admin') apps = (await callAdmin(target, 'GET', '/apps')).apps as AppListing[];
  else apps = listApps(await readPolicyFile(target.path, true), Date.now());
  if (settings.bool('json')) ctx.stdout(`${JSON.stringify({ apps }, null, 2)}\n`);
  else ctx.stdout(formatApps(apps));
}
