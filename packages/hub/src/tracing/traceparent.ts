import { type Context, createTraceState, ROOT_CONTEXT, type SpanContext, trace } from '@opentelemetry/api';

// W3C Trace Context level 1: version-traceid-parentid-flags; a future version may add fields.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|$)/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** The span context a `traceparent` (and `tracestate`) carries, or undefined when malformed. */
export function parseTraceparent(
  traceparent: string | string[] | undefined,
  tracestate?: string | string[] | undefined,
): SpanContext | undefined {
  const value = Array.isArray(traceparent) ? traceparent[0] : traceparent;
  if (value === undefined) return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (!m || m[1] === 'ff' || m[2] === ZERO_TRACE || m[3] === ZERO_SPAN) return undefined;
  if (m[1] === '00' && value.trim().length !== 55) return undefined;
  const state = Array.isArray(tracestate) ? tracestate.join(',') : tracestate;
  return {
    traceId: m[2]!,
    spanId: m[3]!,
    traceFlags: Number.parseInt(m[4]!, 16) & 1,
    isRemote: true,
    ...(state ? { traceState: createTraceState(state) } : {}),
  };
}

/** `traceparent` for a span context (version 00). */
export function formatTraceparent(span: SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-0${span.traceFlags & 1}`;
}

/** A context whose parent is the remote span in the headers, or the root when there is none. */
export function remoteParent(headers: Readonly<Record<string, string | string[] | undefined>>): Context {
  const parent = parseTraceparent(headers.traceparent, headers.tracestate);
  return parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, parent);
}

/** The trace id of a `traceparent`, for the access log; undefined when absent or malformed. */
export function traceIdOf(traceparent: string | string[] | undefined): string | undefined {
  return traceparent === undefined ? undefined : parseTraceparent(traceparent)?.traceId;
}
