import {
  type ClientHttp2Stream,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { Readable } from 'node:stream';
import type { HeaderList } from '@slime/protocol';
import type { UpstreamResponse } from './asterisk-request.js';
import type { H2cSession } from './h2c-session.js';

/** What UpstreamCall hands an upstream connection: undici's request options, plus trailers. */
export interface H2cRequestOptions {
  method: string;
  path: string;
  /** Flat [name, value, ...] list, lower-case names; `host` becomes `:authority`. */
  headers: string[];
  body: Readable | null;
  signal: AbortSignal;
  headersTimeout: number;
  bodyTimeout: number;
  onInfo?: (info: { statusCode: number; headers: Record<string, string | string[] | undefined> }) => void;
  /** Request trailers, read once the body ended (a HEADERS frame after the last DATA). */
  trailers?: () => HeaderList | undefined;
}

function coded(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A HEADERS frame's fields without its pseudo-header fields, as undici's response headers. */
function plainHeaders(h: IncomingHttpHeaders): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(h)) if (!name.startsWith(':')) out[name] = value;
  return out;
}

function rawFields(h: IncomingHttpHeaders): string[] {
  const raw: string[] = [];
  for (const [name, value] of Object.entries(h)) {
    if (name.startsWith(':') || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) raw.push(name, String(v));
  }
  return raw;
}

function outgoing(list: HeaderList): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of list) {
    const prev = out[name];
    out[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [String(prev)]), value];
  }
  return out;
}

/**
 * A connection to an `h2c://` upstream: HTTP/2 over cleartext TCP by prior knowledge, spoken with
 * node:http2. Like the HTTP/1.1 connections, one per worker slot and one stream at a time, so the
 * upstream never sees more concurrent streams than the agent has slots; the slots' streams share
 * one session (H2cSession).
 *
 * Why not undici's H2CClient: it drops an HTTP/2 response's trailer section (7.x reads the trailers
 * object as a raw list and keeps nothing), cannot send request trailers, and gRPC lives in
 * trailers (`grpc-status`). node:http2 gives both, and the response head as soon as it comes, so
 * a bidirectional stream flows both ways at once.
 *
 * Shaped like the part of undici's `Client` that UpstreamConnections and UpstreamCall use.
 */
export class H2cConnection {
  readonly #authority: string;
  readonly #shared: H2cSession;
  #closed = false;
  #destroyed = false;

  constructor(origin: string, shared: H2cSession) {
    this.#authority = new URL(origin).host;
    this.#shared = shared;
    shared.acquire();
  }

  get closed(): boolean {
    return this.#closed;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  request(options: H2cRequestOptions): Promise<UpstreamResponse> {
    const { body } = options;
    if (body === null || options.trailers === undefined) return this.#request(options);
    // A request that may end with trailers needs `waitForTrailers`, and then Node sends the end of
    // the stream in a write of its own, after 'wantTrailers' (one more upstream wake-up per gRPC
    // call, whose unary handler waits for that end). The hub sends a small request's head, body
    // and end in one batch, handled in this same turn: one tick later the body is often complete,
    // and without trailers its end rides on the last DATA frame, in the same write as the head.
    return new Promise((resolve) => process.nextTick(() => resolve(this.#request(options))));
  }

  #request(options: H2cRequestOptions): Promise<UpstreamResponse> {
    return new Promise<UpstreamResponse>((resolve, reject) => {
      if (this.#closed) throw coded('upstream connection is closed', 'UND_ERR_CLOSED');
      const { signal, body } = options;
      if (signal.aborted) throw signal.reason;
      const headers: OutgoingHttpHeaders = {
        ':method': options.method,
        ':path': options.path,
        ':scheme': 'http',
        ':authority': this.#authority,
      };
      for (let i = 0; i < options.headers.length; i += 2) {
        const name = options.headers[i]!;
        const value = options.headers[i + 1]!;
        // HTTP/2 carries the host in :authority (RFC 9113 §8.3.1)
        if (name === 'host') headers[':authority'] = value;
        else {
          const prev = headers[name];
          headers[name] =
            prev === undefined ? value : [...(Array.isArray(prev) ? prev : [String(prev)]), value];
        }
      }
      const session = this.#shared.get();
      const withTrailers =
        body !== null && options.trailers !== undefined && !(bodyEnded(body) && !options.trailers()?.length);
      // Throws synchronously on a field HTTP/2 forbids: the caller turns that into this call's error.
      const stream = session.request(headers, { endStream: body === null, waitForTrailers: withTrailers });
      let answered = false;
      const fail = (err: Error) => {
        if (answered) return;
        answered = true;
        clearTimeout(headTimer);
        reject(err);
        if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
      };
      const onAbort = () => {
        fail(signal.reason instanceof Error ? signal.reason : coded('request aborted', 'UND_ERR_ABORTED'));
        if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const headTimer = setTimeout(
        () => fail(coded('upstream sent no response head in time', 'UND_ERR_HEADERS_TIMEOUT')),
        options.headersTimeout,
      );
      stream.on('error', (err) => fail(this.#shared.error ?? err));
      stream.once('close', () => {
        signal.removeEventListener('abort', onAbort);
        // every stream closes, answered or not: an Error (its stack) only when it is news
        if (answered) return;
        fail(
          this.#shared.error ??
            coded(`upstream closed the stream (code ${stream.rstCode ?? 0})`, 'UND_ERR_SOCKET'),
        );
      });
      if (withTrailers) {
        stream.once('wantTrailers', () => {
          const trailers = options.trailers?.();
          // empty trailers: Node ends the stream with an empty DATA frame instead
          stream.sendTrailers(trailers?.length ? outgoing(trailers) : {});
        });
      }
      stream.on('headers', (h) => {
        const status = Number(h[':status']);
        if (status >= 100 && status < 200) options.onInfo?.({ statusCode: status, headers: plainHeaders(h) });
      });
      stream.once('response', (h) => {
        if (answered) return;
        answered = true;
        clearTimeout(headTimer);
        resolve({
          statusCode: Number(h[':status']),
          headers: plainHeaders(h),
          body: responseBody(stream, options.bodyTimeout),
          rawTrailers: () => trailers,
        });
      });
      let trailers: string[] = [];
      stream.once('trailers', (h) => {
        trailers = rawFields(h);
      });
      if (body !== null) {
        body.pipe(stream);
        body.once('error', () => {
          if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
        });
      }
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return this.#shared.release();
  }

  destroy(): Promise<void> {
    this.#destroyed = true;
    if (!this.#closed) {
      this.#closed = true;
      void this.#shared.release();
    }
    this.#shared.destroyIfUnused();
    return Promise.resolve();
  }
}

/**
 * Whether `body` has received its end (not necessarily read yet). Node has no public getter for
 * it (`readableEnded` waits for the 'end' event); without the state, the answer is "not yet".
 */
function bodyEnded(body: Readable): boolean {
  return (body as Readable & { _readableState?: { ended?: unknown } })._readableState?.ended === true;
}

/**
 * The response body of `stream`. A stream the upstream resets mid-body may close without 'end' or
 * 'error' (RST_STREAM CANCEL): the body then fails instead of waiting forever. Destroying the body
 * (the hub cancelled) resets the stream. Once the response is complete, a request half still open
 * is reset: the call is over and nobody writes to it any more.
 */
function responseBody(stream: ClientHttp2Stream, bodyTimeoutMs: number): Readable {
  let ended = false;
  const body = new Readable({
    read() {
      stream.resume();
    },
    destroy(err, callback) {
      if (!stream.destroyed && !ended) stream.close(constants.NGHTTP2_CANCEL);
      callback(err);
    },
  });
  stream.on('data', (chunk: Buffer) => {
    if (!body.push(chunk)) stream.pause();
  });
  stream.once('end', () => {
    ended = true;
    body.push(null);
    if (!stream.writableEnded && !stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
  });
  stream.once('close', () => {
    if (!ended)
      body.destroy(coded(`upstream reset the stream (code ${stream.rstCode ?? 0})`, 'UND_ERR_SOCKET'));
  });
  stream.once('error', (err) => body.destroy(err));
  if (bodyTimeoutMs > 0) {
    stream.setTimeout(bodyTimeoutMs, () =>
      stream.destroy(coded('upstream response body stalled', 'UND_ERR_BODY_TIMEOUT')),
    );
  }
  return body;
}
