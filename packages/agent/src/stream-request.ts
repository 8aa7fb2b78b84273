import type { Readable } from 'node:stream';
import { type HeaderList, ReceiveWindow, trailerFields } from '@slime/protocol';
import type { Client, Dispatcher } from 'undici';
import { asteriskRequest, type UpstreamResponse } from './asterisk-request.js';
import type { CallSignal } from './call-signal.js';
import type { CallDeps, CallHost } from './call-types.js';
import type { ResponseEvents } from './dispatch-response.js';
import type { H2cRequestOptions } from './h2c-upstream.js';
import { RequestBody } from './request-body.js';
import { rawFields, responseHeaders } from './response-sender.js';
import type { UpstreamRequest } from './upstream-request.js';

/** A trailer section from undici (an object) or node:http (a raw list), as the protocol carries it. */
export function responseTrailers(res: UpstreamResponse): HeaderList {
  if (res.rawTrailers) return trailerFields(res.rawTrailers());
  const fields = (res as { trailers?: Record<string, string | string[] | undefined> }).trailers;
  return fields ? trailerFields(rawFields(fields)) : [];
}

/**
 * A request node:http sends on a connection of its own: asterisk-form targets, and request
 * trailers (`sendTrailers`), which undici cannot write.
 */
export function nodeRequest(
  deps: CallDeps,
  request: UpstreamRequest,
  body: RequestBody | null,
  signal: AbortSignal,
  sendTrailers: boolean,
): Promise<UpstreamResponse> {
  return asteriskRequest({
    origin: deps.target.origin,
    method: request.method,
    headers: request.headers,
    body,
    signal,
    headersTimeoutMs: deps.headersTimeoutMs,
    path: request.path,
    ...(sendTrailers ? { trailers: () => body?.trailers } : {}),
  });
}

export interface StreamRequestOptions {
  body: RequestBody | null;
  signal: CallSignal;
  /** An h2c connection (H2cConnection): it listens on a real AbortSignal and sends request trailers. */
  h2c: boolean;
  deps: Pick<CallDeps, 'headersTimeoutMs' | 'bodyTimeoutMs'>;
  /** Interim responses go to `events.onUpstreamInfo`. */
  events: Pick<ResponseEvents, 'onUpstreamInfo'>;
}

/**
 * A request sent with `request()`, whose response comes as an object with a body stream: what an
 * h2c connection offers (and undici's Client for CONNECT, which `dispatch` would refuse with
 * another error). A promise whatever happens: a synchronous refusal becomes this request's error.
 */
export function streamRequest(
  client: Client,
  request: UpstreamRequest,
  o: StreamRequestOptions,
): Promise<UpstreamResponse> {
  try {
    const body = o.body;
    const options: Dispatcher.RequestOptions & Pick<H2cRequestOptions, 'trailers'> = {
      method: request.method as Dispatcher.HttpMethod,
      path: request.path,
      headers: request.headers,
      body: body as Readable | null,
      // undici takes the plain call signal; the h2c client listens on a real AbortSignal
      signal: o.h2c ? o.signal.toAbortSignal() : o.signal,
      headersTimeout: o.deps.headersTimeoutMs,
      bodyTimeout: o.deps.bodyTimeoutMs,
      onInfo: (info: { statusCode: number; headers: Record<string, string | string[] | undefined> }) =>
        o.events.onUpstreamInfo(info.statusCode, rawFields(info.headers)),
      // an h2c connection (H2cConnection) sends them; undici's Client never reads this
      ...(o.h2c && body ? { trailers: () => body.trailers } : {}),
    };
    return client.request(options) as Promise<UpstreamResponse>;
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Reports a response object with a body stream (node:http, h2c, undici's `request()`) to the
 * call's events, the way DispatchResponse reports a dispatched one; the body stream is the pump's
 * source. `trailers`: the call forwards the trailer section (protocol 3).
 */
export function forwardResponse(res: UpstreamResponse, events: ResponseEvents, trailers: boolean): void {
  const body = res.body;
  if (!events.onUpstreamHead(res.statusCode, responseHeaders(res.headers), body)) return;
  body.on('data', (chunk: Buffer) => events.onUpstreamData(chunk));
  body.once('end', () => events.onUpstreamEnd(trailers ? responseTrailers(res) : undefined));
  body.once('error', (err: Error) => events.onUpstreamError(err));
}

/** A request body fed by the hub's DATA within our window; `grant` sends a WINDOW frame. */
export function requestBody(
  host: CallHost,
  now: (() => number) | undefined,
  grant: (increment: number) => void,
): RequestBody {
  const window = new ReceiveWindow({
    initial: host.agentWindow,
    budget: host.windowBudget ?? null,
    now: now ?? Date.now,
  });
  const body = new RequestBody(window, grant);
  // undici destroys the body on abort; that error is ours, not news.
  body.on('error', () => {});
  return body;
}
