import { parseDuration } from '@slime/protocol';
import { UsageError } from './usage-error.js';

/**
 * Parses a duration into milliseconds with the grammar the policy file shares (protocol's
 * `parseDuration`): Go syntax plus days and weeks; a bare number means seconds.
 */
export function parseDurationMs(text: string): number | undefined {
  return parseDuration(text);
}

/** Like {@link parseDurationMs} but throws a {@link UsageError} naming where the value came from. */
export function requireDurationMs(text: string, what: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) {
    throw new UsageError(`${what}: "${text}" is not a duration (examples: 30s, 1h2m3s, 30d, 500ms)`);
  }
  return ms;
}
