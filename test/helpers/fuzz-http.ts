import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** One HTTP response as it came off the wire. */
export interface WireResponse {
  status: number;
  statusLine: string;
  /** Field names lower-cased, in wire order, repeats kept. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** The body ended where its framing said (false: the connection closed inside it). */
  complete: boolean;
}

export interface WireParse {
  /** Every response parsed, interim (1xx) ones included. */
  responses: WireResponse[];
  /** A final (non-1xx, or 101) response was parsed completely. */
  done: boolean;
  /** Why the bytes are not well-formed HTTP/1.1, if they are not. */
  error?: string;
  /** Bytes after the final response. */
  rest: Buffer;
}

const STATUS_LINE = /^HTTP\/1\.[01] ([1-5]\d\d) [\t\x20-\x7e\x80-\xff]*$/;
const FIELD = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[\t ]*([\t\x20-\x7e\x80-\xff]*?)[\t ]*$/;
const CRLF2 = Buffer.from('\r\n\r\n');

function field(headers: Array<[string, string]>, name: string): string[] {
  return headers.filter(([n]) => n === name).map(([, v]) => v);
}

/** Decodes a chunked body starting at `at`; null when more bytes are needed. */
function dechunk(buf: Buffer, at: number): { body: Buffer; end: number } | { error: string } | null {
  const parts: Buffer[] = [];
  let pos = at;
  for (;;) {
    const eol = buf.indexOf('\r\n', pos, 'latin1');
    if (eol === -1) return null;
    const line = buf.subarray(pos, eol).toString('latin1');
    const m = /^([0-9a-fA-F]+)(;[^\r\n]*)?$/.exec(line);
    if (!m) return { error: `bad chunk size line ${JSON.stringify(line.slice(0, 40))}` };
    const size = Number.parseInt(m[1]!, 16);
    pos = eol + 2;
    if (size === 0) {
      // trailer section: fields until an empty line
      for (;;) {
        const e = buf.indexOf('\r\n', pos, 'latin1');
        if (e === -1) return null;
        if (e === pos) return { body: Buffer.concat(parts), end: e + 2 };
        if (!FIELD.test(buf.subarray(pos, e).toString('latin1'))) return { error: 'bad trailer field' };
        pos = e + 2;
      }
    }
    if (buf.length < pos + size + 2) return null;
    parts.push(buf.subarray(pos, pos + size));
    if (buf[pos + size] !== 13 || buf[pos + size + 1] !== 10) return { error: 'chunk not followed by CRLF' };
    pos += size + 2;
  }
}

/**
 * Parses the bytes a client read as a sequence of HTTP/1.1 responses, strictly: a status line, token
 * field names, values without control characters, and a body framed by Transfer-Encoding: chunked,
 * one Content-Length, or the end of the connection. `eof` says the connection is over.
 */
export function parseResponses(buf: Buffer, opts: { head?: boolean; eof: boolean }): WireParse {
  const responses: WireResponse[] = [];
  let pos = 0;
  const out = (extra: Partial<WireParse> = {}): WireParse => ({
    responses,
    done: false,
    rest: buf.subarray(pos),
    ...extra,
  });
  for (;;) {
    if (pos === buf.length) return out();
    const headEnd = buf.indexOf(CRLF2, pos);
    if (headEnd === -1) {
      return out(opts.eof ? { error: 'connection closed inside a response head' } : {});
    }
    const lines = buf.subarray(pos, headEnd).toString('latin1').split('\r\n');
    const statusLine = lines[0]!;
    const m = STATUS_LINE.exec(statusLine);
    if (!m) return out({ error: `bad status line ${JSON.stringify(statusLine.slice(0, 80))}` });
    const headers: Array<[string, string]> = [];
    for (const line of lines.slice(1)) {
      const f = FIELD.exec(line);
      if (!f) return out({ error: `bad header line ${JSON.stringify(line.slice(0, 80))}` });
      headers.push([f[1]!.toLowerCase(), f[2]!]);
    }
    const status = Number(m[1]);
    const bodyAt = headEnd + 4;
    const interim = status < 200 && status !== 101;
    const noBody = interim || status === 101 || status === 204 || status === 304 || opts.head === true;
    const te = field(headers, 'transfer-encoding');
    const cl = field(headers, 'content-length');
    const res: WireResponse = { status, statusLine, headers, body: Buffer.alloc(0), complete: true };
    if (noBody) {
      pos = bodyAt;
    } else if (te.length > 0) {
      const codings = te
        .join(',')
        .split(',')
        .map((s) => s.trim().toLowerCase());
      if (codings.at(-1) !== 'chunked') return out({ error: `response Transfer-Encoding ${te.join(',')}` });
      if (cl.length > 0) return out({ error: 'response has both Content-Length and Transfer-Encoding' });
      const r = dechunk(buf, bodyAt);
      if (r === null) {
        if (!opts.eof) return out();
        pos = buf.length;
        res.body = buf.subarray(bodyAt);
        res.complete = false;
      } else if ('error' in r) {
        return out({ error: r.error });
      } else {
        res.body = r.body;
        pos = r.end;
      }
    } else if (cl.length > 0) {
      if (!cl.every((v) => /^\d{1,15}$/.test(v) && v === cl[0])) {
        return out({ error: `bad response Content-Length ${JSON.stringify(cl)}` });
      }
      const n = Number(cl[0]);
      if (buf.length < bodyAt + n) {
        if (!opts.eof) return out();
        res.body = buf.subarray(bodyAt);
        res.complete = false;
        pos = buf.length;
      } else {
        res.body = buf.subarray(bodyAt, bodyAt + n);
        pos = bodyAt + n;
      }
    } else {
      // delimited by the end of the connection
      if (!opts.eof) return out();
      res.body = buf.subarray(bodyAt);
      pos = buf.length;
    }
    responses.push(res);
    if (!interim) return out({ done: res.complete });
  }
}

/**
 * Parses `finals` pipelined answers (each possibly preceded by interim ones): one WireParse each,
 * as far as the bytes go. `done` once all of them are complete.
 */
export function parseAnswers(
  buf: Buffer,
  opts: { head?: boolean; eof: boolean; finals: number },
): { answers: WireParse[]; done: boolean; error: string | undefined; rest: Buffer } {
  const answers: WireParse[] = [];
  let rest = buf;
  for (let i = 0; i < opts.finals; i++) {
    const p = parseResponses(rest, { head: opts.head ?? false, eof: opts.eof });
    answers.push(p);
    if (p.error || !p.done) return { answers, done: false, error: p.error, rest: p.rest };
    rest = p.rest;
  }
  return { answers, done: true, error: undefined, rest };
}

/** The final response of a parse, if one arrived. */
export function finalResponse(p: WireParse): WireResponse | undefined {
  return p.responses.find((r) => r.status >= 200 || r.status === 101);
}

export function header(res: WireResponse, name: string): string | undefined {
  return res.headers.find(([n]) => n === name)?.[1];
}

/**
 * What a response the hub made itself must look like: problem+json with a stable `code`. Returns
 * a description of what is wrong, or null.
 */
export function problemDefect(res: WireResponse, head = false): string | null {
  const type = header(res, 'content-type') ?? '';
  if (!type.startsWith('application/problem+json'))
    return `hub answer ${res.status} has content-type ${type}`;
  if (!res.complete) return `hub answer ${res.status} was cut short`;
  // An answer to HEAD has no body to read (one the parser refused may have one: it is left over).
  if (head) return null;
  try {
    const body = JSON.parse(res.body.toString('utf8')) as { code?: unknown; status?: unknown };
    if (typeof body.code !== 'string' || !body.code.startsWith('ERR_HUB_'))
      return `problem without a code: ${res.body}`;
    if (body.status !== res.status) return `problem status ${String(body.status)} != ${res.status}`;
  } catch {
    return `problem body is not JSON: ${res.body.toString('latin1').slice(0, 80)}`;
  }
  return null;
}

export type EndMode = 'keep' | 'half-close' | 'destroy';

export interface RawResult {
  bytes: Buffer;
  /** The first answer (all of them in `answers`). */
  parse: WireParse;
  answers: WireParse[];
  /** The watchdog fired: no complete answer and no close in time. */
  timedOut: boolean;
  error: string | undefined;
}

/**
 * Sends raw bytes to 127.0.0.1:port and reads the answer. It settles when a complete final
 * response has been parsed (keep-alive answers need no close), when the peer closes, or when the
 * watchdog fires (a failure detector, not a wait: a healthy hub always settles first).
 * `end`: 'keep' leaves our side open, 'half-close' sends FIN after writing, 'destroy' writes and
 * drops the connection (no answer is awaited). `untilClose` reads until the peer closes even after
 * a complete answer, so the client never leaves before the server is done with it.
 */
export function rawHttp(
  port: number,
  chunks: readonly (string | Buffer)[],
  opts: { end?: EndMode; head?: boolean; watchdogMs?: number; untilClose?: boolean; finals?: number } = {},
): Promise<RawResult> {
  const end = opts.end ?? 'keep';
  const finals = opts.finals ?? 1;
  const parse = (bytes: Buffer, eof: boolean) =>
    parseAnswers(bytes, { head: opts.head ?? false, eof, finals });
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    let error: string | undefined;
    let settled = false;
    let timedOut = false;
    const finish = (eof: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(watchdog);
      const bytes = Buffer.concat(got);
      socket.destroy();
      const { answers } = parse(bytes, eof);
      resolve({ bytes, parse: answers[0]!, answers, timedOut, error });
    };
    const watchdog = setTimeout(() => {
      timedOut = true;
      finish(true);
    }, opts.watchdogMs ?? 5000);
    socket.on('data', (d: Buffer) => {
      got.push(d);
      const p = parse(Buffer.concat(got), false);
      if ((p.done || p.error) && !opts.untilClose) finish(false);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    socket.once('close', () => finish(true));
    socket.once('connect', () => {
      for (const c of chunks) socket.write(c);
      if (end === 'half-close') socket.end();
      else if (end === 'destroy') socket.destroy();
    });
  });
}

/** A garbage collector: the exposed one, or one obtained through V8 flags. */
export function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Heap used after a full collection. */
export function settledHeap(gc: () => void): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
