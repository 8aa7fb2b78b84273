import { type Hub, loadPolicyFile, type PolicyDoc } from '@slime/hub';
import type { Logger } from 'pino';
import type { PolicySource } from './hub-config.js';

const isMissingFile = (err: unknown) =>
  ((err as { cause?: NodeJS.ErrnoException } | undefined)?.cause?.code ?? '') === 'ENOENT';

/** What SIGHUP does to a running hub: re-read the policy file; a bad one leaves the old in force. */
export function policyReloader(hub: Pick<Hub, 'engine'>, source: PolicySource, logger: Logger) {
  const policyPath = source.path;
  return async (): Promise<void> => {
    if (policyPath === undefined) {
      logger.warn('SIGHUP: no policy file to reload (give --policy or --state-dir); still running');
      return;
    }
    let doc: PolicyDoc;
    try {
      doc = await loadPolicyFile(policyPath);
    } catch (err) {
      if (source.optional && isMissingFile(err)) {
        logger.info({ policyPath }, 'SIGHUP: no policy file yet; nothing to reload');
        return;
      }
      logger.error(
        { policyPath, errors: (err as Error).message },
        'SIGHUP: policy file rejected; the previous policy stays in force',
      );
      return;
    }
    try {
      // through the hub's engine: with --redis the reloaded policy reaches every hub
      hub.engine.update(doc);
    } catch (err) {
      logger.error(
        { policyPath, errors: (err as Error).message },
        'SIGHUP: policy file rejected; the previous policy stays in force',
      );
      return;
    }
    logger.info({ policyPath }, 'SIGHUP: policy reloaded');
  };
}
