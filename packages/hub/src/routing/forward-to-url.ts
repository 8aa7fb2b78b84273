import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type HeaderList, upstreamFailure } from '@slime/protocol';
import { type Dispatcher, getGlobalDispatcher } from 'undici';
import { HubError } from '../errors.js';
import type { Attempt, ProxyResponse, ResponseBody } from '../pipeline/context.js';
import { readAtMost } from '../streams/response-body.js';

export interface ForwardOptions {
  /** Connection pools; default undici's global dispatcher (idle sockets never hold the process). */
  dispatcher?: Dispatcher | undefined;
  /** Longest wait for the response head, and between body chunks (ms). */
  timeoutMs?: number;
  /** Time to the response head (the request deadline); default `timeoutMs`. */
  headersTimeoutMs?: number;
}

// Same lifetime as an agent stream's idle timeout: a slow endpoint is not a dead one.
const DEFAULT_TIMEOUT_MS = 300_000;

// `host` is the endpoint's own (undici sets it from the origin); undici refuses `expect`.
const DROP = new Set(['host', 'expect']);

/**
 * The path+query to send to an endpoint: the endpoint's base path, then the request's own. Only
 * origin-form targets are forwarded, so the request can never pick the host (absolute-form
 * `GET http://elsewhere/` is refused); the origin is the policy's alone.
 */
export function endpointPath(base: URL, target: string): string {
  if (!target.startsWith('/') || target.startsWith('//'))
    throw new HubError('ERR_HUB_BAD_REQUEST', 'request target must be a path (origin-form)');
  return base.pathname.replace(/\/+$/, '') + target;
}

/**
 * An endpoint failure as the client sees it: the same table as agents' upstream calls, and the
 * endpoint's address only in the cause (logs), never in the message.
 */
function toHubErrorFor(err: unknown, signal: AbortSignal): HubError {
  if (err instanceof HubError) return err;
  if (signal.aborted) return new HubError('ERR_HUB_CLIENT_GONE', 'request abandoned', { cause: err });
  const { kind, phrase } = upstreamFailure(err);
  const code =
    kind === 'connect'
      ? 'ERR_HUB_UPSTREAM_UNREACHABLE'
      : kind === 'timeout'
        ? 'ERR_HUB_UPSTREAM_TIMEOUT'
        : 'ERR_HUB_UPSTREAM_ERROR';
  return new HubError(code, `endpoint failed: ${phrase.replace(/^upstream /, '')}`, { cause: err });
}

function responseHeaders(headers: Record<string, string | string[] | undefined>): HeaderList {
  const out: HeaderList = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, v]);
  }
  return out;
}

async function* counted(src: Readable, onRead: (n: number) => void): AsyncGenerator<Uint8Array> {
  // destroyOnReturn: false — an endpoint that gives up early must not kill the client's socket.
  for await (const chunk of src.iterator({ destroyOnReturn: false })) {
    onRead((chunk as Uint8Array).byteLength);
    yield chunk as Uint8Array;
  }
}

function bodyOf(body: Readable): ResponseBody {
  let onBytes: ((n: number) => void) | undefined;
  return {
    countBytes(fn) {
      onBytes = fn;
    },
    async pipe(res: ServerResponse) {
      const count = onBytes;
      if (count) body.on('data', (c: Uint8Array) => count(c.byteLength));
      try {
        // pipeline honours the client's backpressure and destroys the upstream body if it leaves.
        await pipeline(body, res);
      } catch (err) {
        if (res.destroyed && !res.writableFinished)
          throw new HubError('ERR_HUB_CLIENT_GONE', 'client went away', { cause: err });
        throw new HubError('ERR_HUB_UPSTREAM_ERROR', 'endpoint failed mid-body', { cause: err });
      }
    },
    discard() {
      // undici's body errors with AbortError when destroyed; nobody reads it any more.
      body.on('error', () => {});
      body.destroy();
    },
    readAll(limit: number) {
      return readAtMost(
        body,
        limit,
        () => new HubError('ERR_HUB_UPSTREAM_ERROR', `endpoint body exceeds ${limit} bytes`),
      );
    },
  };
}

/**
 * Forwards the request to an external endpoint with undici: the request body streams out, the
 * response streams back at the client's pace, redirects are returned as they are (never
 * followed). Upstream headers are the ones agents get (hop-by-hop and Slime-* removed,
 * X-Forwarded-* added), minus Host, which is the endpoint's.
 */
export async function forwardToUrl(
  method: string,
  attempt: Pick<Attempt, 'target' | 'headers' | 'body' | 'signal'>,
  url: string,
  options: ForwardOptions = {},
): Promise<ProxyResponse> {
  const base = new URL(url);
  const path = endpointPath(base, attempt.target);
  const headers: string[] = [];
  for (const [name, value] of attempt.headers) if (!DROP.has(name)) headers.push(name, value);
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // what the endpoint read is consumed: the request can no longer go elsewhere
  const onRead = (n: number) => attempt.body.read(n);
  const body = attempt.body.stream;
  const dispatcher = options.dispatcher ?? getGlobalDispatcher();
  try {
    const r = await dispatcher.request({
      origin: base.origin,
      path,
      method: method as Dispatcher.HttpMethod,
      headers,
      body: body ? Readable.from(counted(body, onRead), { objectMode: false }) : null,
      signal: attempt.signal,
      headersTimeout: options.headersTimeoutMs ?? timeout,
      bodyTimeout: timeout,
    });
    return {
      status: r.statusCode,
      headers: responseHeaders(r.headers),
      servedBy: '',
      body: bodyOf(r.body),
    };
  } catch (err) {
    throw toHubErrorFor(err, attempt.signal);
  }
}
