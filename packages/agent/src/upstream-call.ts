import type { Readable } from 'node:stream';
import {
  DataPump,
  encodeFrame,
  expandWindow,
  type HeaderList,
  ReceiveWindow,
  type RequestFrame,
  ResetCode,
  type ResetCodeValue,
  stripHopByHop,
  trailerFields,
  type WindowBudget,
} from '@slime/protocol';
import type { Logger } from 'pino';
import type { Client, Dispatcher } from 'undici';
import { asteriskRequest, type UpstreamResponse } from './asterisk-request.js';
import { CallSignal } from './call-signal.js';
import type { H2cRequestOptions } from './h2c-upstream.js';
import type { UpstreamTarget } from './options.js';
import { RequestBody } from './request-body.js';
import type { UpstreamConnections } from './upstream-connections.js';
import { describeUpstreamError, isConnectFailure, resetCodeFor } from './upstream-errors.js';
import { type UpstreamRequest, upstreamRequest } from './upstream-request.js';

/** What a call needs from the session it runs on. */
export interface CallHost {
  send(bytes: Uint8Array): void;
  /** One DATA frame without copying its payload (when the session can). */
  sendData?(streamId: number, chunks: readonly Uint8Array[], length: number): void;
  readonly congested: boolean;
  waitForDrain(call: UpstreamCall): void;
  /** The hub's per-stream window for response bodies. */
  readonly hubWindow: number;
  /** Our per-stream window for request bodies. */
  readonly agentWindow: number;
  /** How far request-body windows of this session's calls may grow together (auto-tuning). */
  readonly windowBudget?: WindowBudget | null;
  /** The hub takes interim (1xx) RESPONSE frames (protocol version 2). */
  readonly interimResponses: boolean;
  /** The hub speaks protocol 3: TRAILERS both ways (and upgraded streams). */
  readonly trailers?: boolean;
  /** The call is over and its upstream work has stopped: the worker slot is free. */
  finished(call: UpstreamCall): void;
}

export interface CallDeps {
  connections: UpstreamConnections;
  target: UpstreamTarget;
  preserveHost: boolean;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  log: Logger;
  now?: () => number;
  /**
   * The call found the upstream unreachable (refused, reset before any answer, connect timeout):
   * called with the reason before the call's RESET goes out, so the agent withdraws its slots
   * and tells the hub first.
   */
  onUpstreamDown?: (reason: string) => void;
  /** One call ended: 'ok' or the reset reason, with the status and time to the response head. */
  onResult?: (result: {
    outcome: string;
    status?: number | undefined;
    latencyMs?: number | undefined;
  }) => void;
}

const RESET_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(ResetCode).map(([name, code]) => [code, name.toLowerCase()]),
);

/** A trailer section from undici (an object) or node:http (a raw list), as the protocol carries it. */
function responseTrailers(res: UpstreamResponse): HeaderList {
  if (res.rawTrailers) return trailerFields(res.rawTrailers());
  const fields = (res as { trailers?: Record<string, string | string[] | undefined> }).trailers;
  if (!fields) return [];
  const raw: string[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) raw.push(name, v);
  }
  return trailerFields(raw);
}

function hasField(headers: readonly string[], name: string): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return true;
  return false;
}

function responseHeaders(headers: Record<string, string | string[] | undefined>): HeaderList {
  const raw: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) raw.push(name, v);
    else raw.push(name, value);
  }
  return stripHopByHop(raw);
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
    // Request trailers need a chunked body written by node:http (undici cannot send them); a
    // `Trailer` announcement that cannot be honoured is dropped rather than promised upstream.
    // HTTP/2 (h2c upstreams) ends any body with trailers, announced or not.
    const h2c = this.#deps.target.h2c === true;
    const sendTrailers =
      !frame.endStream &&
      hasField(request.headers, 'trailer') &&
      (h2c || !hasField(request.headers, 'content-length'));
    if (!sendTrailers && hasField(request.headers, 'trailer')) {
      const kept: string[] = [];
      for (let i = 0; i < request.headers.length; i += 2) {
        if (request.headers[i] !== 'trailer') kept.push(request.headers[i]!, request.headers[i + 1]!);
      }
      request.headers = kept;
    }
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
    try {
      this.#send(
        encodeFrame({
          type: 'RESPONSE',
          streamId: this.streamId,
          endStream: false,
          status,
          headers: responseHeaders(headers),
        }),
      );
    } catch (err) {
      this.#deps.log.debug({ err: (err as Error).message, status }, 'interim response not forwarded');
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
    try {
      this.#send(
        encodeFrame({
          type: 'RESPONSE',
          streamId: this.streamId,
          endStream: false,
          status: res.statusCode,
          headers: responseHeaders(res.headers),
        }),
      );
    } catch (err) {
      body.destroy();
      this.#deps.log.warn({ err: (err as Error).message }, 'upstream response head cannot be forwarded');
      this.#reset(ResetCode.UPSTREAM_ERROR, 'upstream response head exceeds protocol limits');
      return;
    }
    const host = this.#host;
    const pump = new DataPump(
      this.streamId,
      host.hubWindow + this.#earlyWindow,
      {
        send: (b) => this.#send(b),
        ...(host.sendData
          ? {
              sendData: (id: number, chunks: readonly Uint8Array[], length: number) => {
                if (!this.#closed) host.sendData?.(id, chunks, length);
              },
            }
          : {}),
        get congested() {
          return host.congested;
        },
        waitForDrain: () => host.waitForDrain(this),
      },
      body,
      () => this.#finish(),
    );
    this.#pump = pump;
    body.on('data', (chunk: Buffer) => pump.push(chunk));
    // Protocol 3: the upstream's trailer section goes out as TRAILERS in place of END.
    body.once('end', () => pump.end(this.#host.trailers ? responseTrailers(res) : undefined));
    body.once('error', (err) => this.#fail(err));
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
    if (this.#hubReset) {
      this.#reset(ResetCode.CANCEL, 'cancelled by hub');
      return;
    }
    const code = resetCodeFor(err);
    const message = err instanceof Error ? err.message : String(err);
    this.#deps.log.warn({ streamId: this.streamId, code, err: message }, 'upstream call failed');
    const reason = describeUpstreamError(err);
    // Before any response head only: a reset mid-body is one broken response, not a dead upstream.
    if (this.#status === undefined && isConnectFailure(err)) this.#deps.onUpstreamDown?.(reason);
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
