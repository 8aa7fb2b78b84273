import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { type Dispatcher, request } from 'undici';
import { bodyView, type Exchange, view } from './conformance-exchange.js';
import { readAll } from './harness.js';

/**
 * What of a body may differ, per case:
 * - `gzip-mtime`: httpbin's gzip writes the current second into the header (RFC 1952 MTIME, bytes
 *   4-7), so two calls a second apart differ there and only there;
 * - `uuid`: /uuid answers a fresh UUID on every call, so only its shape is compared;
 * - `request-framing`: the hub may re-frame a chunked upload with a Content-Length (or the
 *   reverse), so httpbin's echo of the request's framing fields, and with it the echo's own
 *   Content-Length, may differ; the echoed data and every other field may not.
 */
export type Mask = 'gzip-mtime' | 'uuid' | 'request-framing';

function maskedBody(mask: Mask | undefined): ((b: Buffer) => string) | undefined {
  if (mask === 'gzip-mtime') {
    return (b) => {
      if (b[0] !== 0x1f || b[1] !== 0x8b) return `not gzip: ${b.toString('latin1')}`;
      const copy = Buffer.from(b);
      copy.fill(0, 4, 8);
      return copy.toString('latin1');
    };
  }
  if (mask === 'uuid') {
    const uuid = /"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"/;
    return (b) => b.toString('utf8').replace(uuid, '"<uuid>"');
  }
  if (mask === 'request-framing') {
    return (b) => {
      let json: { headers?: Record<string, string> };
      try {
        json = JSON.parse(b.toString('utf8'));
      } catch {
        return bodyView(b); // not an echo (an error page, say): compared as it is
      }
      delete json.headers?.['Content-Length'];
      delete json.headers?.['Transfer-Encoding'];
      return bodyView(Buffer.from(JSON.stringify(json)));
    };
  }
  return undefined;
}

/** Status, fields and body of both sides, in the shape `expect(...).toEqual` diffs well. */
export function compared(direct: Exchange, hub: Exchange, mask?: Mask) {
  const body = maskedBody(mask);
  const shown = (ex: Exchange, other: Exchange) => {
    const v = view(ex, other, body);
    if (mask === 'request-framing') delete v.headers['content-length'];
    return v;
  };
  return { direct: shown(direct, hub), hub: shown(hub, direct) };
}

/** A GET whose chunk arrival times are recorded, for streams that must stay streams. */
export async function timedGet(url: string, headers: string[], dispatcher: Dispatcher) {
  const res = await request(url, { dispatcher, headers });
  const times: number[] = [];
  const parts: Buffer[] = [];
  for await (const chunk of res.body) {
    times.push(performance.now());
    parts.push(chunk as Buffer);
  }
  return {
    status: res.statusCode,
    body: Buffer.concat(parts).toString('latin1'),
    spreadMs: times.length ? times.at(-1)! - times[0]! : 0,
    /** Body reads that brought bytes: 1 when a proxy buffered the whole body. */
    reads: parts.length,
  };
}

/**
 * POSTs `body` with `Expect: 100-continue` and writes it only once the 100 arrives (as curl and
 * most SDKs do for large uploads). Fails after 10 s without any answer instead of hanging.
 */
export function postExpectingContinue(
  base: string,
  path: string,
  body: Buffer,
  extra: readonly string[],
): Promise<Exchange & { continued: boolean }> {
  const url = new URL(base);
  const headers: Record<string, string> = {
    expect: '100-continue',
    'content-type': 'application/octet-stream',
    'content-length': String(body.length),
  };
  for (let i = 0; i < extra.length; i += 2) headers[extra[i]!] = extra[i + 1]!;
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path,
        headers,
        agent: false,
        signal: AbortSignal.timeout(10_000),
      },
      (res) => {
        // A final answer without a 100 means the body is not wanted: do not send it.
        if (!continued) req.destroy();
        readAll(res).then(
          (b) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, continued }),
          reject,
        );
      },
    );
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('error', (err) =>
      reject(new Error(`${base}: no 100 Continue nor final answer (${err.message})`, { cause: err })),
    );
    req.flushHeaders();
  });
}

/**
 * `curl --data-binary @file` to `${base}/anything`, the way a user uploads a file; resolves with
 * curl's exit code, the final status, whether a 100 Continue came first, and the body.
 */
export function curlUpload(base: string, file: string, extra: readonly string[]) {
  const headers = extra.flatMap((v, i) => (i % 2 ? [] : ['-H', `${v}: ${extra[i + 1]}`]));
  // curl sends Expect: 100-continue for a body this large on its own; the explicit field and the
  // long --expect100-timeout make it wait for the 100 instead of sending anyway after 1 s.
  const args = ['-v', '-sS', '--data-binary', `@${file}`, '-H', 'content-type: application/octet-stream'];
  args.push('-H', 'Expect: 100-continue', '--expect100-timeout', '20', ...headers);
  args.push('-w', '\n%{http_code}', `${base}/anything`);
  return new Promise<{ code: number; status: string; continued: boolean; body: Buffer }>(
    (resolve, reject) => {
      execFile('curl', args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error('curl is not installed: install the Debian package curl (.ci/run does it)'));
          return;
        }
        const cut = stdout.lastIndexOf('\n');
        resolve({
          code: typeof err?.code === 'number' ? err.code : 0,
          status: stdout.slice(cut + 1),
          continued: /^< HTTP\/1\.1 100/m.test(stderr),
          body: Buffer.from(stdout.slice(0, cut)),
        });
      });
    },
  );
}

/**
 * httpbin's /anything echo with the fields an Expect: 100-continue exchange may legitimately
 * change removed: the hub answers the 100 itself (Node's server does on its behalf), so whether
 * the upstream sees `Expect` too is the hub's business; the hub may re-frame the body
 * (Content-Length or chunked); and node:http sends `Connection: close` and curl none, where the
 * agent keeps its upstream connections alive (hop-by-hop). Everything else, the data first, must
 * match.
 */
export function echoWithoutExpect(body: Buffer): { data: string; headers?: Record<string, string> } {
  const json = JSON.parse(body.toString('utf8')) as { data: string; headers?: Record<string, string> };
  for (const name of ['Expect', 'Content-Length', 'Transfer-Encoding', 'Connection']) {
    delete json.headers?.[name];
  }
  // Megabytes of base64 make an unreadable diff: compare its digest (the test checks the data).
  json.data = bodyView(Buffer.from(json.data));
  return json;
}
