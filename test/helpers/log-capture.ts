import { EventEmitter } from 'node:events';
import { type Logger, pino } from 'pino';

export interface CapturedLog {
  logger: Logger;
  /** Every line written so far, parsed. */
  lines: Record<string, unknown>[];
  /** Emits 'line' with each parsed line as it is written. */
  events: EventEmitter;
}

/** A pino logger whose lines are kept in memory (level debug), for asserting what was logged. */
export function captureLog(level = 'debug'): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const events = new EventEmitter();
  const logger = pino(
    { level },
    {
      write(text: string) {
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        events.emit('line', line);
      },
    },
  );
  return { logger, lines, events };
}
