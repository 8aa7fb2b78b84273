import type { Logger } from 'pino';

export interface Closable {
  close(): Promise<void>;
  destroy(): void;
}

export interface SignalOptions {
  /**
   * What SIGHUP does (the hub: re-read the policy file). Errors are logged, never fatal. Without
   * it SIGHUP is logged and ignored: it never ends the process.
   */
  reload?: () => Promise<void>;
}

const SIGNAL_NUMBER = { SIGINT: 2, SIGTERM: 15 } as const;

/**
 * SIGTERM/SIGINT: the first drains (`close()`: finish in-flight requests) and exits 0, or 1 when
 * closing failed; the second destroys at once and exits 128 + the signal number, the way shells
 * report a signal death, for operators who cannot wait for a long request.
 *
 * SIGHUP runs `options.reload` (one at a time; a HUP during a reload runs one more after it) and
 * never exits: without a handler Node would end the process with 129 and no drain.
 *
 * @returns a function that removes the handlers.
 */
export function exitOnSignals(
  target: Closable,
  logger: Logger,
  exit: (code: number) => void = (code) => process.exit(code),
  options: SignalOptions = {},
): () => void {
  let draining = false;
  const onSignal = (signal: keyof typeof SIGNAL_NUMBER): void => {
    if (draining) {
      logger.warn({ signal }, 'second signal: exiting at once');
      target.destroy();
      exit(128 + SIGNAL_NUMBER[signal]);
      return;
    }
    draining = true;
    logger.info({ signal }, 'draining: finishing in-flight requests (signal again to exit at once)');
    target.close().then(
      () => {
        logger.info('drained, exiting');
        exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'close failed');
        exit(1);
      },
    );
  };

  let reloading: Promise<void> | undefined;
  let again = false;
  const reload = async (): Promise<void> => {
    do {
      again = false;
      try {
        await options.reload?.();
      } catch (err) {
        logger.error({ err }, 'SIGHUP: reload failed; everything stays as it was');
      }
    } while (again && !draining);
    reloading = undefined;
  };
  const onHup = (): void => {
    if (draining) return;
    if (options.reload === undefined) {
      logger.info({ signal: 'SIGHUP' }, 'SIGHUP: nothing to reload here; still running');
      return;
    }
    if (reloading) {
      again = true;
      return;
    }
    reloading = reload();
  };

  const names = Object.keys(SIGNAL_NUMBER) as (keyof typeof SIGNAL_NUMBER)[];
  for (const name of names) process.on(name, onSignal);
  process.on('SIGHUP', onHup);
  return () => {
    for (const name of names) process.off(name, onSignal);
    process.off('SIGHUP', onHup);
  };
}
