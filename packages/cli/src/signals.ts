import type { Logger } from 'pino';

export interface Closable {
  close(): Promise<void>;
  destroy(): void;
}

const SIGNAL_NUMBER = { SIGINT: 2, SIGTERM: 15 } as const;

/**
 * SIGTERM/SIGINT: the first drains (`close()`: finish in-flight requests) and exits 0, or 1 when
 * closing failed; the second destroys at once and exits 128 + the signal number, the way shells
 * report a signal death, for operators who cannot wait for a long request.
 *
 * @returns a function that removes the handlers.
 */
export function exitOnSignals(
  target: Closable,
  logger: Logger,
  exit: (code: number) => void = (code) => process.exit(code),
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
  const names = Object.keys(SIGNAL_NUMBER) as (keyof typeof SIGNAL_NUMBER)[];
  for (const name of names) process.on(name, onSignal);
  return () => {
    for (const name of names) process.off(name, onSignal);
  };
}
