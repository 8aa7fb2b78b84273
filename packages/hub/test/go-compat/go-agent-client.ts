// A hand-driven Go Slime Proxy agent: the long-poll protocol of its pkg/agent, written from the
// documented wire format (shared/reference/go-slime.md), with Node's http client:
//   POST /v1/agent/join    once per worker, hardware JSON
//   POST /v1/agent/accept  long poll; 200 + Slime-Connection-Id + the request in HTTP/1.1 wire format
//   POST /v1/agent/submit  chunked body: the upstream response in HTTP/1.1 wire format
// Like the Go agent, it keeps the poll's answer open while it works, closes it when done (or when
// the upstream call fails, without a submit), and polls again.
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';

export interface WireRequest {
  method: string;
  target: string;
  /** Field lines as they came, name case kept. */
  headers: Array<[string, string]>;
  body: Readable;
  /** How the hub framed the body: 'length', 'chunked' or 'none'. */
  framing: 'length' | 'chunked' | 'none';
}

export interface Poll {
  status: number;
  connectionId: string | undefined;
  /** The handed-over request (200 only). */
  request: WireRequest | null;
  /** The poll's answer, still open while the worker works. */
  res: IncomingMessage;
  /** Closes the poll's connection, as Go's `acceptResp.Body.Close()` does. */
  close(): void;
}

export interface GoAgentClientOptions {
  hub: string;
  token: string;
  agentId: number | string;
  /** Where requests go, http://host:port. */
  upstream?: string;
}

/** What the worker loop does with a handed-over request. */
export type Behaviour = 'serve' | 'drop' | 'hang';

/** A POST whose response is awaited apart from the request (a long poll, a streamed submit). */
export function post(
  url: string,
  headers: Record<string, string>,
  body?: Buffer | string,
): { req: ReturnType<typeof httpRequest>; res: Promise<IncomingMessage> } {
  const req = httpRequest(url, { method: 'POST', headers, agent: false });
  const res = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  res.catch(() => {});
  if (body !== undefined) req.end(body);
  return { req, res };
}

/** Resolves when `emitter` closes, whatever error came first. */
export function closed(emitter: {
  once(event: 'close', fn: () => void): unknown;
  on(e: 'error', fn: () => void): unknown;
}): Promise<void> {
  emitter.on('error', () => {});
  return new Promise((resolve) => emitter.once('close', resolve));
}

export async function readText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads one HTTP/1.1 request from `source` without waiting for its end (the poll's answer stays
 * open): head, then the body by Content-Length or chunked.
 */
export function readWireRequest(source: Readable): Promise<WireRequest> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let body: PassThrough | null = null;
    let framing: WireRequest['framing'] = 'none';
    let left = 0;
    let chunkState: 'size' | 'data' | 'crlf' | 'trailer' | 'done' = 'size';
    const readHead = (): boolean => {
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return false;
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const [method, target, version] = lines[0]!.split(' ');
      if (version !== 'HTTP/1.1') {
        reject(new Error(`bad request line ${lines[0]}`));
        return false;
      }
      const headers = lines.slice(1).map((l): [string, string] => {
        const i = l.indexOf(':');
        return [l.slice(0, i), l.slice(i + 1).trim()];
      });
      buf = buf.subarray(end + 4);
      const te = headers.find(([n]) => n.toLowerCase() === 'transfer-encoding');
      const cl = headers.find(([n]) => n.toLowerCase() === 'content-length');
      framing = te ? 'chunked' : cl ? 'length' : 'none';
      left = framing === 'length' ? Number(cl![1]) : 0;
      body = new PassThrough();
      if (framing !== 'chunked' && left === 0) body.end();
      resolve({ method: method!, target: target!, headers, body, framing });
      return true;
    };
    const feed = (data: Buffer) => {
      buf = Buffer.concat([buf, data]);
      if (!body && !readHead()) return;
      const b = body!;
      if (framing === 'length') {
        const n = Math.min(left, buf.length);
        if (n === 0) return;
        b.write(buf.subarray(0, n));
        buf = buf.subarray(n);
        left -= n;
        if (left === 0) b.end();
        return;
      }
      while (framing === 'chunked' && chunkState !== 'done') {
        if (chunkState === 'data') {
          if (buf.length === 0) return;
          const n = Math.min(left, buf.length);
          b.write(buf.subarray(0, n));
          buf = buf.subarray(n);
          left -= n;
          if (left === 0) chunkState = 'crlf';
          continue;
        }
        const eol = buf.indexOf('\r\n');
        if (eol === -1) return;
        const line = buf.subarray(0, eol).toString('latin1');
        buf = buf.subarray(eol + 2);
        if (chunkState === 'crlf') chunkState = 'size';
        else if (chunkState === 'trailer') {
          if (line === '') {
            chunkState = 'done';
            b.end();
          }
        } else {
          left = Number.parseInt(line, 16);
          chunkState = left === 0 ? 'trailer' : 'data';
        }
      }
    };
    source.on('data', feed);
    source.once('error', reject);
    source.once('end', () => {
      if (!body) reject(new Error('poll answer ended before a request'));
    });
  });
}

/** One worker of a Go agent (one `Slime-Agent-Id`). */
export class GoAgentClient {
  readonly opts: GoAgentClientOptions;
  /** Requests served, in order (method and target). */
  readonly served: string[] = [];
  #running = false;
  #loop: Promise<void> | null = null;
  #current: Poll | null = null;
  #abortPoll: (() => void) | null = null;
  behaviour: (req: WireRequest) => Behaviour = () => 'serve';

  constructor(opts: GoAgentClientOptions) {
    this.opts = opts;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { 'slime-agent-token': this.opts.token, 'slime-agent-id': String(this.opts.agentId), ...extra };
  }

  async join(
    hardware: unknown = { CPUCores: 8, PlatformOS: 'linux', GPUNames: ['L4'] },
  ): Promise<{ status: number; body: string }> {
    const { res } = post(
      `${this.opts.hub}/v1/agent/join`,
      this.headers({ 'content-type': 'application/json' }),
      JSON.stringify(hardware),
    );
    const r = await res;
    return { status: r.statusCode ?? 0, body: await readText(r) };
  }

  /** One long poll: resolves when the hub answers it. */
  async accept(): Promise<Poll> {
    const { req, res } = post(`${this.opts.hub}/v1/agent/accept`, this.headers(), '');
    const r = await res;
    const poll: Poll = {
      status: r.statusCode ?? 0,
      connectionId: r.headers['slime-connection-id'] as string | undefined,
      request: null,
      res: r,
      close: () => req.destroy(),
    };
    if (poll.status === 200) poll.request = await readWireRequest(r);
    else await readText(r);
    return poll;
  }

  /** A poll that has been sent and not answered yet. */
  startAccept(): { poll: Promise<Poll>; abort: () => void } {
    const { req, res } = post(`${this.opts.hub}/v1/agent/accept`, this.headers(), '');
    const poll = res.then(async (r) => {
      const p: Poll = {
        status: r.statusCode ?? 0,
        connectionId: r.headers['slime-connection-id'] as string | undefined,
        request: null,
        res: r,
        close: () => req.destroy(),
      };
      if (p.status === 200) p.request = await readWireRequest(r);
      return p;
    });
    poll.catch(() => {});
    return { poll, abort: () => req.destroy() };
  }

  /**
   * The submit: the upstream's response in HTTP/1.1 wire format, streamed as a chunked body. `body`
   * chunks are sent one by one (each flushed, as the Go agent's pipe does).
   */
  submit(
    connectionId: string,
    head: string,
    body: AsyncIterable<Uint8Array> | Uint8Array[] = [],
    extra: Record<string, string> = {},
  ): Promise<{ status: number; body: string }> {
    const { req, res } = post(
      `${this.opts.hub}/v1/agent/submit`,
      this.headers({ 'slime-connection-id': connectionId, ...extra }),
    );
    req.on('error', () => {});
    (async () => {
      req.write(head);
      for await (const c of body) if (!req.write(c)) await once(req, 'drain');
      req.end();
    })().catch(() => req.destroy());
    const result = res.then(async (r) => ({ status: r.statusCode ?? 0, body: await readText(r) }));
    // a refused submit may reject before the caller awaits it
    result.catch(() => {});
    return result;
  }

  /** Calls the upstream with a handed-over request and submits its response, as the Go agent does. */
  async serve(poll: Poll): Promise<number> {
    const wire = poll.request!;
    const up = new URL(this.opts.upstream!);
    // Go's agent sends the upstream its own Host (the URL's), like a reverse proxy
    const headers: Array<[string, string]> = [
      ['Host', up.host],
      ...wire.headers.filter(([n]) => !['host', 'transfer-encoding'].includes(n.toLowerCase())),
    ];
    const upReq = httpRequest({
      host: up.hostname,
      port: up.port,
      method: wire.method,
      path: wire.target,
      headers: headers.flat(),
      agent: false,
    });
    wire.body.pipe(upReq);
    const upRes = await new Promise<IncomingMessage>((resolve, reject) => {
      upReq.once('response', resolve);
      upReq.once('error', reject);
    });
    const length = upRes.headers['content-length'];
    const chunked =
      length === undefined && wire.method !== 'HEAD' && upRes.statusCode !== 204 && upRes.statusCode !== 304;
    let head = `HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage}\r\n`;
    for (let i = 0; i < upRes.rawHeaders.length; i += 2) {
      const name = upRes.rawHeaders[i]!;
      if (['transfer-encoding', 'connection', 'keep-alive'].includes(name.toLowerCase())) continue;
      head += `${name}: ${upRes.rawHeaders[i + 1]}\r\n`;
    }
    if (chunked) head += 'Transfer-Encoding: chunked\r\n';
    head += '\r\n';
    async function* framed(): AsyncGenerator<Uint8Array> {
      for await (const c of upRes) {
        const data = c as Buffer;
        if (chunked)
          yield Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
        else yield data;
      }
      if (chunked) yield Buffer.from('0\r\n\r\n');
    }
    const result = await this.submit(poll.connectionId!, head, framed());
    return result.status;
  }

  /** The worker loop: join, then poll, serve and poll again until stop(). */
  async start(): Promise<void> {
    const joined = await this.join();
    if (joined.status !== 200) throw new Error(`join refused: ${joined.status} ${joined.body}`);
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        const pending = this.startAccept();
        this.#abortPoll = pending.abort;
        let poll: Poll;
        try {
          poll = await pending.poll;
        } catch {
          continue;
        }
        this.#current = poll;
        if (poll.status !== 200) {
          // the Go agent re-polls at once; this one stops
          this.#running = false;
          return;
        }
        const wire = poll.request!;
        this.served.push(`${wire.method} ${wire.target}`);
        const what = this.behaviour(wire);
        if (what === 'hang') {
          this.#running = false;
          return;
        }
        if (what === 'drop') {
          poll.close();
          continue;
        }
        try {
          await this.serve(poll);
        } catch {
          // upstream failed: the Go agent gives up without a submit
        }
        poll.close();
        this.#current = null;
      }
    })();
  }

  /** Stops the loop as a killed agent would: its open connections close. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#abortPoll?.();
    this.#current?.close();
    await this.#loop;
  }
}
