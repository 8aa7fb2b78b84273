import {
  createTraceState,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { RequestFrame } from '@slime/protocol';
import type { CallDeps } from './upstream-call.js';

// W3C Trace Context level 1 (the hub sends version 00; a later version may add fields).
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|$)/;

function header(frame: RequestFrame, name: string): string | undefined {
  for (const [n, v] of frame.headers) if (n === name) return v;
  return undefined;
}

/**
 * Wraps one call's deps with an `upstream <METHOD>` CLIENT span, child of the REQUEST's
 * `traceparent` (the hub's dispatch span), and hands the upstream this span as its parent. The
 * span ends when the call does, with its status and outcome.
 */
export function tracedCallDeps(tracer: Tracer, frame: RequestFrame, base: CallDeps, label: string): CallDeps {
  const given = header(frame, 'traceparent');
  const m = given === undefined ? null : TRACEPARENT.exec(given);
  const state = header(frame, 'tracestate');
  const parent =
    m && m[1] !== 'ff' && !/^0+$/.test(m[2]!) && !/^0+$/.test(m[3]!)
      ? trace.setSpanContext(ROOT_CONTEXT, {
          traceId: m[2]!,
          spanId: m[3]!,
          traceFlags: Number.parseInt(m[4]!, 16) & 1,
          isRemote: true,
          ...(state ? { traceState: createTraceState(state) } : {}),
        })
      : ROOT_CONTEXT;
  const q = frame.target.indexOf('?');
  const span = tracer.startSpan(
    `upstream ${frame.method}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': frame.method,
        'url.path': q === -1 ? frame.target : frame.target.slice(0, q),
        'server.address': label,
        'slime.stream_id': frame.streamId,
      },
    },
    parent,
  );
  const sc = span.spanContext();
  const headers = frame.headers.filter(([n]) => n !== 'traceparent');
  headers.push(['traceparent', `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`]);
  frame.headers = headers;
  return {
    ...base,
    onResult(result) {
      span.setAttributes({
        'slime.outcome': result.outcome,
        ...(result.status === undefined ? {} : { 'http.response.status_code': result.status }),
        ...(result.latencyMs === undefined ? {} : { 'slime.upstream_ttfb_ms': result.latencyMs }),
      });
      if (result.outcome !== 'ok' || (result.status ?? 0) >= 500) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: result.outcome });
      }
      span.end();
      base.onResult?.(result);
    },
  };
}
