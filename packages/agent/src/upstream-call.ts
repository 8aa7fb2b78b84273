import type { Readable } from 'node:stream';
import {
  type DataPump,
  encodeFrame,
  expandWindow,
  type HeaderList,
  ReceiveWindow,
  type RequestFrame,
  ResetCode,
  type ResetCodeValue,
  trailerFields,
} from '@slime/protocol';
import type { Client, Dispatcher } from 'undici';
import { asteriskRequest, type UpstreamResponse } from './asterisk-request.js';
import { CallSignal } from './call-signal.js';
import type { CallDeps, CallHost } from './call-types.js';
import type { H2cRequestOptions } from './h2c-upstream.js';
import { RequestBody } from './request-body.js';
import { planRequestTrailers } from './request-trailers.js';
import {
  callSink,
  pumpResponse,
  rawFields,
  responseFrame,
  responseHeaders,
  upstreamFailed,
} from './response-sender.js';
import { type UpstreamRequest, upstreamRequest } from './upstream-request.js';

export type { CallDeps, CallHost } from './call-types.js';

const RESET_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(ResetCode).map(([name, code]) => [code, name.toLowerCase()]),
);

/** A trailer section from undici (an object) or node:http (a raw list), as the protocol carries it. */
function responseTrailers(res: UpstreamResponse): HeaderList {
  if (res.rawTrailers) return trailerFields(res.rawTrailers());
  const fields = (res as { trailers?: Record<string, string | string[] | undefined> }).trailers;
  return fields ? trailerFields(rawFields(fields)) : [];
}

/**
 * One REQUEST forwarded to the upstream with undici: the request body streams in as DATA arrives,
 * the response streams back within the hub's window. The slot is released only once undici is
 * done with the upstream, so the upstream never sees more requests than the agent has slots.
 */
export class UpstreamCall {
  readonly streamId: number;
  readonly #host: CallHost;
  readonly #deps: CallDeps;
  readonly #frame: RequestFrame;
  readonly #abort = new CallSignal();
  #body: RequestBody | null = null;
  /** The upstream connection lent to this call, returned when the call ends. */
  #client: Client | null = null;
  #response: Readable | null = null;
  #pump: DataPump | null = null;
  /** WINDOW granted before the response head (the protocol does not expect it; kept if it comes). */
  #earlyWindow = 0;
  #closed = false;
  #hubReset = false;
  #startedAt = 0;
  #status: number | undefined;
  #latencyMs: number | undefined;
  #outcome = 'ok';

  constructor(host: CallHost, frame: RequestFrame, deps: CallDeps) {
    this.#host = host;
    this.#deps = deps;
    this.#frame = frame;
    this.streamId = frame.streamId;
  }

  start(): void {
    const frame = this.#frame;
    this.#startedAt = this.#deps.now?.() ?? 0;
    let request: UpstreamRequest;
    try {
      request = upstreamRequest(frame, this.#deps.target, this.#deps.preserveHost, this.#host.trailers);
    } catch (err) {
      this.#fail(err);
      return;
    }
    const h2c = this.#deps.target.h2c === true;
    const sendTrailers = planRequestTrailers(request, !frame.endStream, h2c);
    if (!frame.endStream) {
      const window = new ReceiveWindow({
        initial: this.#host.agentWindow,
        budget: this.#host.windowBudget ?? null,
        now: this.#deps.now ?? Date.now,
      });
      this.#body = new RequestBody(window, (increment) =>
        this.#send(encodeFrame({ type: 'WINDOW', streamId: this.streamId, increment })),
      );
      // undici destroys the body on abort; that error is ours, not news.
      this.#body.on('error', () => {});
    }
    let response: Promise<UpstreamResponse>;
    if (!h2c && (request.path === '*' || sendTrailers)) {
      const body = this.#body;
      response = asteriskRequest({
        origin: this.#deps.target.origin,
        method: request.method,
        headers: request.headers,
        body,
        signal: this.#abort.toAbortSignal(),
        headersTimeoutMs: this.#deps.headersTimeoutMs,
        path: request.path,
        ...(sendTrailers ? { trailers: () => body?.trailers } : {}),
      });
    } else {
      const client = this.#deps.connections.acquire();
      this.#client = client;
      // A promise whatever happens: a synchronous refusal becomes this request's error only.
      try {
        const body = this.#body;
        const options: Dispatcher.RequestOptions & Pick<H2cRequestOptions, 'trailers'> = {
          method: request.method as Dispatcher.HttpMethod,
          path: request.path,
          headers: request.headers,
          body,
          // undici takes the plain call signal; the h2c client listens on a real AbortSignal
          signal: h2c ? this.#abort.toAbortSignal() : this.#abort,
          headersTimeout: this.#deps.headersTimeoutMs,
          bodyTimeout: this.#deps.bodyTimeoutMs,
          onInfo: (info: { statusCode: number; headers: Record<string, string | string[] | undefined> }) =>
            this.#onInfo(info.statusCode, info.headers),
          // an h2c connection (H2cConnection) sends them; undici's Client never reads this
          ...(h2c && body ? { trailers: () => body.trailers } : {}),
        };
        response = client.request(options);
      } catch (err) {
        response = Promise.reject(err);
      }
    }
    response.then(
      (res) => this.#onResponse(res),
      (err: unknown) => this.#fail(err),
    );
  }

  /** An interim response: 103 Early Hints (and 102) go to the hub when it takes them. */
  #onInfo(status: number, headers: Record<string, string | string[] | undefined>): void {
    if (this.#closed || this.#hubReset || !this.#host.interimResponses) return;
    if (status !== 102 && status !== 103) return;
    const frame = responseFrame(this.streamId, status, responseHeaders(headers));
    if (frame instanceof Error) {
      this.#deps.log.debug({ err: frame.message, status }, 'interim response not forwarded');
    } else {
      this.#send(frame);
    }
  }

  #send(bytes: Uint8Array): void {
    if (!this.#closed) this.#host.send(bytes);
  }

  #onResponse(res: UpstreamResponse): void {
    if (this.#closed || this.#hubReset) {
      res.body.destroy();
      this.#fail(new Error('cancelled'));
      return;
    }
    const body = res.body;
    this.#response = body;
    this.#status = res.statusCode;
    if (this.#deps.now) this.#latencyMs = this.#deps.now() - this.#startedAt;
    if (!this.#sendHead(body, res.statusCode, responseHeaders(res.headers))) return;
    const host = this.#host;
    const sink = callSink(
      host,
      () => host.waitForDrain(this),
      () => this.#closed,
    );
    this.#pump = pumpResponse(this.streamId, host.hubWindow + this.#earlyWindow, sink, body, {
      done: () => this.#finish(),
      failed: (err) => this.#fail(err),
      // Protocol 3: the upstream's trailer section goes out as TRAILERS in place of END.
      ...(host.trailers ? { trailers: () => responseTrailers(res) } : {}),
    });
  }

  /** Sends the response head; false (the call reset) when it is past the protocol's limits. */
  #sendHead(body: Readable, status: number, headers: HeaderList): boolean {
    const frame = responseFrame(this.streamId, status, headers);
    if (!(frame instanceof Error)) {
      this.#send(frame);
      return true;
    }
    body.destroy();
    this.#deps.log.warn({ err: frame.message }, 'upstream response head cannot be forwarded');
    this.#reset(ResetCode.UPSTREAM_ERROR, 'upstream response head exceeds protocol limits');
    return false;
  }

  /** The WebSocket drained below its low-water mark. */
  resume(): void {
    this.#pump?.resume();
  }

  onData(data: Uint8Array): void {
    if (this.#closed || !this.#body) return;
    // A peer that ignores windows cannot be trusted with the rest of the connection: feed throws
    // ERR_PROTOCOL_FLOW_CONTROL (close 4002).
    this.#body.feed(data);
  }

  onEnd(): void {
    if (!this.#closed) this.#body?.finish();
  }

  /** Protocol 3: the request body ended with trailer fields. */
  onTrailers(headers: HeaderList): void {
    if (!this.#closed) this.#body?.finish(headers);
  }

  onWindow(increment: number): void {
    if (this.#closed) return;
    if (this.#pump) this.#pump.expand(increment);
    else this.#earlyWindow = expandWindow(this.#earlyWindow, increment);
  }

  /** The hub cancelled (client gone, idle): abort the upstream call, then answer with our RESET. */
  onReset(): void {
    if (this.#closed) return;
    this.#hubReset = true;
    this.#abort.abort();
    this.#response?.destroy();
    this.#reset(ResetCode.CANCEL, 'cancelled by hub');
  }

  /** The hub connection is gone: stop the upstream work; nobody is listening any more. */
  abandon(): void {
    if (this.#closed) return;
    this.#abort.abort();
    this.#response?.destroy();
    this.#closed = true;
    this.#pump?.stop();
    this.#releaseClient();
    this.#host.finished(this);
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    const { code, reason } = upstreamFailed(err, this.#deps, {
      streamId: this.streamId,
      hubReset: this.#hubReset,
      beforeHead: this.#status === undefined,
      what: 'upstream call failed',
    });
    this.#reset(code, reason);
  }

  #reset(code: ResetCodeValue, message: string): void {
    if (this.#closed) return;
    this.#outcome = RESET_NAMES.get(code) ?? 'error';
    this.#abort.abort();
    this.#response?.destroy();
    this.#body?.destroy();
    this.#send(encodeFrame({ type: 'RESET', streamId: this.streamId, code, message }));
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pump?.stop();
    // The response is complete; a request body still arriving is not wanted any more.
    if (this.#body && !this.#body.readableEnded) this.#body.destroy();
    this.#releaseClient();
    this.#deps.onResult?.({ outcome: this.#outcome, status: this.#status, latencyMs: this.#latencyMs });
    this.#host.finished(this);
  }

  #releaseClient(): void {
    if (this.#client) this.#deps.connections.release(this.#client);
    this.#client = null;
  }
}
