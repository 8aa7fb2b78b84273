import { createHash, timingSafeEqual } from 'node:crypto';
import { type AppSpec, DEFAULT_APP, type Priority } from './app-types.js';

/** What the hub uses of one declared application at request time. */
export interface AppSettings {
  readonly name: string;
  readonly weight: number;
  readonly maxPriority: Priority;
  readonly maxQueue: number | undefined;
}

interface StoredKey {
  readonly digest: Buffer;
  readonly app: AppSettings;
  /** ms since the epoch; Infinity = no expiry. */
  readonly expiresAt: number;
}

/** The applications of the policy in force, compiled for lookups. Immutable. */
export interface AppDirectory {
  /** Number of declared applications. */
  readonly size: number;
  /**
   * Whether requests must carry an app key: the policy has an `apps` section, even an empty one,
   * so removing the last application refuses every key instead of opening the hub.
   */
  readonly required: boolean;
  /**
   * The application a key belongs to, if the key is known and not expired now. Every
   * stored key is compared, in constant time, whatever matches: timing tells nothing about keys.
   */
  byKey(key: string): AppSettings | undefined;
  /** A declared application, or the settings every undeclared one gets. */
  settings(name: string): AppSettings;
  /** Declared application names. */
  names(): string[];
}

/** Settings of an app the policy does not declare (`default` without an entry). */
export function defaultSettings(name: string): AppSettings {
  return { name, weight: 1, maxPriority: 'normal', maxQueue: undefined };
}

const EMPTY_DIGEST = Buffer.alloc(32);

/**
 * Compiles the `apps` section; `now` decides when a rotated-out key expires. Keys are kept as SHA-256 digests (the policy stores nothing
 * else); a presented key is hashed once and compared against each digest with timingSafeEqual.
 */
export function compileApps(
  apps: readonly AppSpec[] | undefined,
  now: () => number = Date.now,
): AppDirectory {
  const byName = new Map<string, AppSettings>();
  const keys: StoredKey[] = [];
  for (const a of apps ?? []) {
    const settings: AppSettings = Object.freeze({
      name: a.name,
      weight: a.weight ?? 1,
      maxPriority: a.maxPriority ?? 'normal',
      maxQueue: a.maxQueue,
    });
    byName.set(a.name, settings);
    for (const k of a.keys ?? []) {
      keys.push({
        digest: Buffer.from(k.hash.slice('sha256:'.length), 'hex'),
        app: settings,
        expiresAt: k.expires === undefined ? Number.POSITIVE_INFINITY : Date.parse(k.expires),
      });
    }
  }
  const fallback = new Map<string, AppSettings>();
  return {
    size: byName.size,
    required: apps !== undefined,
    byKey(key) {
      const given = createHash('sha256').update(key).digest();
      let found: StoredKey | undefined;
      // No early exit: the loop costs the same whichever key (if any) matches.
      for (const k of keys) {
        if (timingSafeEqual(given, k.digest) && found === undefined) found = k;
      }
      // An empty directory still hashes and compares once, so "no apps" is not faster either.
      if (keys.length === 0) timingSafeEqual(given, EMPTY_DIGEST);
      if (!found || found.expiresAt <= now()) return undefined;
      return found.app;
    },
    settings(name) {
      const s = byName.get(name);
      if (s) return s;
      let d = fallback.get(name);
      if (!d) {
        d = defaultSettings(name);
        // only `default` and declared names reach here, so this stays small
        if (fallback.size < 16) fallback.set(name, d);
      }
      return d;
    },
    names: () => [...byName.keys()],
  };
}

export const NO_APPS: AppDirectory = compileApps(undefined);
export { DEFAULT_APP };
