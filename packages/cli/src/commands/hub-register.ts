import { signAgentToken } from '@slime/hub';
import type { CliContext } from '../context.js';
import type { Settings } from '../settings.js';
import { UsageError } from '../usage-error.js';

/**
 * `slime hub register`: prints only the token on stdout so `TOKEN=$(slime hub register ...)`
 * works. Needs no hub: the token is a JWT signed with the shared secret.
 */
export async function registerAgent(settings: Settings, ctx: CliContext): Promise<void> {
  const secret = settings.requireString('secret');
  const name = settings.requireString('name');
  const ageMs = settings.durationMs('age');
  if (ageMs !== undefined && ageMs < 1000) {
    // JWT times are whole seconds: anything shorter would be expired or rounded up silently
    throw new UsageError(`invalid ${settings.find('age')?.source}: a token lifetime must be at least 1s`);
  }
  const scopes = settings.list('scopes');
  const scopePaths = settings.list('scope-paths');
  for (const p of scopePaths ?? []) {
    if (!p.startsWith('/'))
      throw new UsageError(`invalid ${settings.find('scope-paths')?.source} "${p}": paths start with /`);
  }
  let token: string;
  try {
    token = await signAgentToken({
      secret,
      name,
      ...(ageMs !== undefined ? { ageSeconds: ageMs / 1000 } : {}),
      ...(scopes !== undefined ? { scopes } : {}),
      ...(scopePaths !== undefined ? { scopePaths } : {}),
    });
  } catch (err) {
    // the token library names the offending claim (e.g. a scope with forbidden characters)
    if (err instanceof TypeError || err instanceof RangeError || (err as Error).name === 'ProtocolError') {
      throw new UsageError(`cannot mint token: ${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
  ctx.stdout(`${token}\n`);
}
