import { createHash, randomBytes } from 'node:crypto';

/** Every key starts with this, so a leaked one is easy to recognise (secret scanners, logs). */
export const KEY_PREFIX = 'slime_app_';

/**
 * A new application key: 32 random bytes. Keys are random, not chosen by people, so one round
 * of SHA-256 is enough to store them: there is no dictionary to try against the hash.
 */
export function generateAppKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** The form a key is stored in: `sha256:<hex>`. */
export function hashAppKey(key: string): string {
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/** A short, non-secret id of a stored key for listings: the first 12 hex digits of its hash. */
export function keyId(hash: string): string {
  return hash.slice('sha256:'.length, 'sha256:'.length + 12);
}
