import { ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { HeaderList } from '@slime/protocol';
import type { Policy, RequestContext } from '../pipeline/context.js';
import { formatTraceparent, remoteParent } from './traceparent.js';

/** Per-request tracing state, kept beside the context (the context type is shared). */
interface RequestTrace {
  span: Span;
  shapingAt?: number;
  dispatchAt?: number;
}

export interface HubTracing {
  /** Starts the request's SERVER span (child of the client's traceparent, if any); ends on close. */
  startRequest(ctx: RequestContext): void;
  /** First in the shaping slot: notes when shaping starts. */
  readonly shapingStart: Policy;
  /**
   * Last in the shaping slot, just before dispatch: a `slime.dispatch` span per try (queue wait,
   * agent and upstream up to the response head), whose id the upstream receives as its parent.
   */
  readonly dispatchStart: Policy;
}

/**
 * Spans of the hub's requests with the OpenTelemetry API; the SDK behind `tracer` exports them.
 * Without a tracer the hub creates none of this (see createHub).
 *
 * Span tree: `<METHOD>` (SERVER, the whole request) -> `slime.dispatch` (one per try: queue wait,
 * agent, upstream to the response head) -> the agent's `upstream <METHOD>` (CLIENT) -> the upstream.
 */
export function createHubTracing(tracer: Tracer, now: () => number): HubTracing {
  const traceOf = (ctx: RequestContext) => ctx.traceState as RequestTrace | undefined;

  function setTraceparent(headers: HeaderList, value: string): void {
    // the client's traceparent is replaced; tracestate travels as the client sent it
    for (let i = headers.length - 1; i >= 0; i--) if (headers[i]![0] === 'traceparent') headers.splice(i, 1);
    headers.push(['traceparent', value]);
  }

  return {
    startRequest(ctx) {
      const { req, res } = ctx;
      const span = tracer.startSpan(
        ctx.method,
        {
          kind: SpanKind.SERVER,
          startTime: ctx.startedAt,
          attributes: {
            'http.request.method': ctx.method,
            'url.path': ctx.path,
            'client.address': ctx.clientIp,
            'network.protocol.version': req.httpVersionMajor === 2 ? '2' : req.httpVersion,
            'slime.request_id': ctx.requestId,
          },
        },
        remoteParent(req.headers),
      );
      const state: RequestTrace = { span };
      ctx.traceState = state;
      ctx.notes.traceId = span.spanContext().traceId;
      res.once('close', () => {
        const status = res.headersSent ? res.statusCode : Number(ctx.notes.status ?? 499);
        const outcome = String(ctx.notes.outcome ?? (res.writableFinished ? 'ok' : 'aborted'));
        span.setAttributes({
          'http.response.status_code': status,
          'slime.outcome': outcome,
          ...(ctx.result?.servedBy ? { 'slime.agent.id': ctx.result.servedBy } : {}),
          ...(typeof ctx.notes.attempts === 'number' ? { 'slime.attempts': ctx.notes.attempts } : {}),
          ...(ctx.scope ? { 'slime.scope': ctx.scope } : {}),
        });
        if (status >= 500 || outcome !== 'ok')
          span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
        span.end(now());
      });
    },

    async shapingStart(ctx, next) {
      const state = traceOf(ctx);
      if (state) state.shapingAt ??= now();
      await next();
    },

    async dispatchStart(ctx, next) {
      const state = traceOf(ctx);
      const attempt = ctx.attempt;
      if (!state || !attempt) return next();
      const at = now();
      if (state.shapingAt !== undefined && state.dispatchAt === undefined) {
        state.span.setAttribute('slime.shaping_wait_ms', at - state.shapingAt);
      }
      state.dispatchAt ??= at;
      const parent = trace.setSpan(ROOT_CONTEXT, state.span);
      const span = tracer.startSpan(
        'slime.dispatch',
        {
          kind: SpanKind.INTERNAL,
          startTime: at,
          attributes: {
            'slime.attempt': attempt.index + 1,
            'slime.route': attempt.route.kind === 'url' ? new URL(attempt.route.url).origin : 'agents',
          },
        },
        parent,
      );
      setTraceparent(attempt.headers, formatTraceparent(span.spanContext()));
      try {
        await next();
        const headAt = now();
        state.span.setAttribute('slime.dispatch_ms', headAt - at);
        if (typeof ctx.notes.queueWaitMs === 'number') {
          state.span.setAttribute('slime.queue_wait_ms', ctx.notes.queueWaitMs);
        }
        if (attempt.result) {
          span.setAttribute('http.response.status_code', attempt.result.status);
          if (attempt.result.servedBy) span.setAttribute('slime.agent.id', attempt.result.servedBy);
        }
        span.end(headAt);
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message ?? String(err) });
        span.setAttribute('slime.error.code', String((err as { code?: unknown })?.code ?? 'error'));
        span.end(now());
        throw err;
      }
    },
  };
}
