import type { Logger } from 'pino';
import { traceIdOf } from '../../tracing/traceparent.js';
import type { Policy } from '../context.js';

/** Called once per application request when its response is over (sent, failed or abandoned). */
export type RequestObserver = (event: {
  status: number;
  outcome: string;
  durationMs: number;
  ttfbMs: number | undefined;
  bytesOut: number;
  agent: string | undefined;
  /** The authenticated application, when app auth is configured. */
  app?: string;
  /** Policy annotations (rule names that denied or limited the request). */
  notes?: Readonly<Record<string, string | number | boolean>>;
}) => void;

/**
 * One access-log line per application request, written when the response is over. The path is
 * logged without its query string: queries often carry keys and personal data.
 */
export function accessLog(options: {
  now: () => number;
  observe?: RequestObserver;
  logger?: Logger;
}): Policy {
  const { now, observe, logger } = options;
  return function accessLog(ctx, next) {
    const { res } = ctx;
    let ttfb: number | undefined;
    const onHead = () => {
      ttfb ??= now() - ctx.startedAt;
    };
    // 'prefinish' and 'close' come once each: `on` spares the wrapper `once` makes per listener
    res.on('prefinish', onHead);
    // bytesWritten counts the whole keep-alive connection; the difference is this response's share.
    // the socket is detached by the time 'close' fires: keep a reference
    const socket = res.socket;
    const bytesBefore = socket?.bytesWritten ?? 0;
    const done = () => {
      const durationMs = now() - ctx.startedAt;
      const status = res.headersSent ? res.statusCode : Number(ctx.notes.status ?? 499);
      const outcome = String(ctx.notes.outcome ?? (res.writableFinished ? 'ok' : 'aborted'));
      const bytesOut = Math.max(0, (socket?.bytesWritten ?? bytesBefore) - bytesBefore);
      const agent = ctx.result?.servedBy;
      const log = logger ?? ctx.log;
      // Built only when it is written: a level above info (or silent) costs nothing per request.
      if (log.isLevelEnabled('info')) {
        // one literal (fields in the line's order), not a map grown field by field. The request's
        // child logger (ctx.log) binds requestId already; undefined here leaves it out of the line.
        const line: Record<string, unknown> = {
          requestId: logger ? ctx.requestId : undefined,
          method: ctx.method,
          path: ctx.path,
          status,
          bytes: bytesOut,
          durationMs,
          agent,
          outcome,
          client: ctx.clientIp,
        };
        if (ctx.app !== undefined) line.app = ctx.app;
        // the hub's own trace when tracing is on, else the client's (traceparent passes through)
        const traceId = ctx.notes.traceId ?? traceIdOf(ctx.req.headers.traceparent);
        if (traceId !== undefined) line.traceId = traceId;
        log.info(line, 'request');
      }
      if (observe === undefined) return;
      const event: Parameters<RequestObserver>[0] = {
        status,
        outcome,
        durationMs,
        ttfbMs: ttfb,
        bytesOut,
        agent,
        notes: ctx.notes,
      };
      // set only when there is one (no temporary object for a conditional spread)
      if (ctx.app !== undefined) event.app = ctx.app;
      observe(event);
    };
    res.on('close', done);
    // no await: this step has nothing to do after the rest, so it adds no promise of its own
    return next();
  };
}
