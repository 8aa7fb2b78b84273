import type { Tracer } from '@opentelemetry/api';
import type { Settings } from './settings.js';
import { UsageError } from './usage-error.js';

/** A tracer exporting over OTLP/HTTP, and how to flush it at exit. */
export interface OtlpTracing {
  tracer: Tracer;
  /** Where the spans go (the full traces URL). */
  url: string;
  /** Exports what is buffered and stops; idempotent. */
  shutdown(): Promise<void>;
}

export interface OtlpTracingOptions {
  /** Full URL of the collector's traces endpoint (…/v1/traces). */
  url: string;
  /** `service.name` of the spans. */
  serviceName: string;
  /** Extra request headers (authentication to a collector). */
  headers?: Record<string, string>;
  /** Longest wait between exports, ms. Default 5000 (the SDK's). */
  exportDelayMs?: number;
}

/**
 * The OpenTelemetry SDK with an OTLP/HTTP (JSON) exporter and a batch processor. The SDK is
 * imported here, on first use: a hub or agent without `--otel-endpoint` never loads it.
 */
export async function createOtlpTracing(options: OtlpTracingOptions): Promise<OtlpTracing> {
  const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  const exporter = new OTLPTraceExporter({
    url: options.url,
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, { scheduledDelayMillis: options.exportDelayMs ?? 5_000 }),
    ],
  });
  let closing: Promise<void> | undefined;
  return {
    tracer: provider.getTracer('slime'),
    url: options.url,
    shutdown: () => {
      closing ??= provider.shutdown();
      return closing;
    },
  };
}

/**
 * `--otel-endpoint` (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, used as it is, or
 * OTEL_EXPORTER_OTLP_ENDPOINT, a base URL) as the traces URL; undefined when tracing is off.
 * A base URL gets `/v1/traces`, as the OTLP specification says of OTEL_EXPORTER_OTLP_ENDPOINT.
 */
export function otlpTracesUrl(settings: Settings): string | undefined {
  const value = settings.string('otel-endpoint');
  if (value === undefined || value === '') return undefined;
  const source = settings.find('otel-endpoint')?.source ?? '--otel-endpoint';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`invalid ${source} "${value}": expected an http:// or https:// URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`invalid ${source} "${value}": expected an http:// or https:// URL`);
  }
  if (source.includes('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') || url.pathname.endsWith('/v1/traces'))
    return url.href;
  return `${url.href.replace(/\/+$/, '')}/v1/traces`;
}

/** Starts tracing for a command when asked; `OTEL_SERVICE_NAME` overrides the service name. */
export async function tracingFrom(
  settings: Settings,
  serviceName: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<OtlpTracing | undefined> {
  const url = otlpTracesUrl(settings);
  if (url === undefined) return undefined;
  const headers = otlpHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS);
  return createOtlpTracing({
    url,
    serviceName: env.OTEL_SERVICE_NAME || serviceName,
    ...(headers === undefined ? {} : { headers }),
  });
}

/** `key1=value1,key2=value2` (values percent-encoded), as OTEL_EXPORTER_OTLP_HEADERS is written. */
export function otlpHeaders(value: string | undefined): Record<string, string> | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const out: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    out[pair.slice(0, eq).trim()] = decodeURIComponent(pair.slice(eq + 1).trim());
  }
  return out;
}
