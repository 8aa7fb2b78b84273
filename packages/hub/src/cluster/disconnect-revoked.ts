import { CloseCode } from '@slime/protocol';
import type { Hub } from '../hub.js';
import type { RevocationList } from './revocations.js';

/**
 * Closes, with 4005 TOKEN_REVOKED, every agent connected to `hub` whose token the list revokes,
 * now and whenever the list grows. `onDisconnected` gets the count (for metrics and logs).
 * Returns a function that stops following the list.
 */
export function disconnectRevoked(
  hub: Pick<Hub, 'closeAgents'>,
  list: RevocationList,
  onDisconnected?: (count: number) => void,
): () => void {
  const sweep = () => {
    const n = hub.closeAgents((claims) => list.isRevoked(claims), CloseCode.TOKEN_REVOKED, 'token revoked');
    if (n > 0) onDisconnected?.(n);
  };
  sweep();
  return list.onChange(sweep);
}
