// HTTP/1.1 messages in wire format, as the Go agent protocol carries them inside its long-poll
// bodies: the request the hub hands over, and the incremental parse of the response it submits.
import { encodeFrame, type HeaderList, isToken, Limits } from '@slime/protocol';

/** The Go agent's response broke HTTP/1.1 framing or our limits. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

/** How the request body travels inside the hand-over. */
export type RequestFraming = 'none' | 'length' | 'chunked';

/**
 * Checks a request against the limits a native agent's REQUEST frame has (method, target, header
 * count and sizes), so a request goes to a Go agent only if it could go to ours. Throws the
 * protocol's error.
 */
export function checkRequestLimits(method: string, target: string, headers: HeaderList): void {
  encodeFrame({ type: 'REQUEST', streamId: 1, endStream: true, method, target, headers });
}

/**
 * The request line and header block, as Go's `http.ReadRequest` reads them: `Host` first (the
 * application's Host, as the Go hub sent it), then the headers as they will reach the upstream,
 * then the body framing: the application's Content-Length when it sent one, else chunked.
 */
export function requestHead(
  method: string,
  target: string,
  headers: HeaderList,
  framing: RequestFraming,
): Buffer {
  let head = `${method} ${target} HTTP/1.1\r\n`;
  const host = headers.find(([name]) => name === 'host');
  if (host) head += `Host: ${host[1]}\r\n`;
  for (const [name, value] of headers) {
    if (name === 'host' || name === 'transfer-encoding') continue;
    if (framing === 'chunked' && name === 'content-length') continue;
    head += `${name}: ${value}\r\n`;
  }
  if (framing === 'chunked') head += 'Transfer-Encoding: chunked\r\n';
  // Header values are octets; latin1 keeps each one as it came from the client.
  return Buffer.from(`${head}\r\n`, 'latin1');
}

/** One chunk of a chunked body (RFC 9112 §7.1). */
export function chunk(data: Uint8Array): Buffer[] {
  return [Buffer.from(`${data.byteLength.toString(16)}\r\n`, 'latin1'), Buffer.from(data), CRLF];
}

const CRLF = Buffer.from('\r\n', 'latin1');
/** The last chunk with no trailers. */
export const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

export interface ResponseHead {
  status: number;
  headers: HeaderList;
}

export type ParseEvent =
  | { type: 'head'; head: ResponseHead }
  | { type: 'data'; data: Uint8Array }
  | { type: 'end' };

// Status line and field lines beyond the header block's own limit (": " and CRLF per field).
const MAX_HEAD_BYTES = 1024 + Limits.MAX_HEADER_BYTES + 4 * Limits.MAX_HEADERS;
const MAX_CHUNK_LINE = 1024;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?$/;
const DIGITS = /^\d{1,15}$/;
const HEX = /^[0-9a-fA-F]{1,13}$/;

type BodyState =
  | { kind: 'head' }
  | { kind: 'length'; left: number }
  | { kind: 'eof' }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; left: number }
  | { kind: 'chunk-crlf' }
  | { kind: 'trailers'; bytes: number }
  | { kind: 'done' };

/**
 * Parses the response a Go agent submits (Go's `Response.Write`: status line, fields, then the
 * body framed by Content-Length, chunked, or the end of the submit body), chunk by chunk as it
 * arrives, so server-sent events pass through as the agent flushes them. Bytes after the message
 * are ignored. Throws WireError on a malformed message or one beyond the protocol's limits.
 */
export class ResponseParser {
  readonly #method: string;
  #state: BodyState = { kind: 'head' };
  /** Bytes of an incomplete head or chunk line. */
  #pending: Buffer = Buffer.alloc(0);

  constructor(method: string) {
    this.#method = method;
  }

  /** Whether the message is complete. */
  get done(): boolean {
    return this.#state.kind === 'done';
  }

  /** Whether a head was parsed. */
  get headSeen(): boolean {
    return this.#state.kind !== 'head';
  }

  push(input: Uint8Array): ParseEvent[] {
    const out: ParseEvent[] = [];
    let buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    while (buf.length > 0) {
      const s = this.#state;
      switch (s.kind) {
        case 'done':
          return out;
        case 'head': {
          const rest = this.#head(buf, out);
          if (rest === null) return out;
          buf = rest;
          break;
        }
        // A counted run of body bytes: the whole Content-Length body, or one chunk's data.
        case 'length':
        case 'chunk-data': {
          const n = Math.min(s.left, buf.length);
          out.push({ type: 'data', data: buf.subarray(0, n) });
          buf = buf.subarray(n);
          s.left -= n;
          if (s.left > 0) break;
          if (s.kind === 'length') this.#end(out);
          else this.#state = { kind: 'chunk-crlf' };
          break;
        }
        case 'eof':
          out.push({ type: 'data', data: buf });
          return out;
        case 'chunk-size': {
          const line = this.#line(buf, MAX_CHUNK_LINE, 'chunk size line');
          if (line === null) return out;
          buf = line.rest;
          const size = line.text.split(';', 1)[0]!.trim();
          if (!HEX.test(size)) throw new WireError('malformed chunk size');
          const n = Number.parseInt(size, 16);
          this.#state = n === 0 ? { kind: 'trailers', bytes: 0 } : { kind: 'chunk-data', left: n };
          break;
        }
        case 'chunk-crlf': {
          const line = this.#line(buf, 2, 'chunk end');
          if (line === null) return out;
          if (line.text !== '') throw new WireError('chunk data longer than its size');
          buf = line.rest;
          this.#state = { kind: 'chunk-size' };
          break;
        }
        case 'trailers': {
          const line = this.#line(buf, Limits.MAX_HEADER_VALUE_BYTES, 'trailer line');
          if (line === null) return out;
          buf = line.rest;
          s.bytes += line.text.length;
          if (s.bytes > Limits.MAX_HEADER_BYTES) throw new WireError('trailers too large');
          // Trailer fields are dropped: the head already went to the client.
          if (line.text === '') this.#end(out);
          break;
        }
      }
    }
    return out;
  }

  /** The submit body ended: completes a response delimited by it, or reports a truncated one. */
  finish(): ParseEvent[] {
    const out: ParseEvent[] = [];
    if (this.#state.kind === 'eof') this.#end(out);
    else if (this.#state.kind === 'head') throw new WireError('submit ended before a complete response head');
    else if (this.#state.kind !== 'done')
      throw new WireError('submit ended in the middle of the response body');
    return out;
  }

  #end(out: ParseEvent[]): void {
    this.#state = { kind: 'done' };
    out.push({ type: 'end' });
  }

  /** One line ending in LF (CR optional before it), or null when it is not all here yet. */
  #line(buf: Buffer, max: number, what: string): { text: string; rest: Buffer } | null {
    const joined = this.#pending.length > 0 ? Buffer.concat([this.#pending, buf]) : buf;
    const lf = joined.indexOf(10);
    if (lf === -1) {
      if (joined.length > max + 1) throw new WireError(`${what} too long`);
      this.#pending = Buffer.from(joined);
      return null;
    }
    if (lf > max + 1) throw new WireError(`${what} too long`);
    this.#pending = Buffer.alloc(0);
    const end = lf > 0 && joined[lf - 1] === 13 ? lf - 1 : lf;
    return { text: joined.toString('latin1', 0, end), rest: joined.subarray(lf + 1) };
  }

  /** Parses the head once it is all here; returns the bytes after it, or null while waiting. */
  #head(buf: Buffer, out: ParseEvent[]): Buffer | null {
    const joined = this.#pending.length > 0 ? Buffer.concat([this.#pending, buf]) : buf;
    let end = -1;
    let bodyAt = -1;
    for (let i = joined.indexOf(10); i !== -1; i = joined.indexOf(10, i + 1)) {
      const next = joined[i + 1];
      if (next === 10) {
        end = i;
        bodyAt = i + 2;
        break;
      }
      if (next === 13 && joined[i + 2] === 10) {
        end = i;
        bodyAt = i + 3;
        break;
      }
    }
    if (end === -1) {
      if (joined.length > MAX_HEAD_BYTES) throw new WireError('response head too large');
      this.#pending = Buffer.from(joined);
      return null;
    }
    if (end > MAX_HEAD_BYTES) throw new WireError('response head too large');
    this.#pending = Buffer.alloc(0);
    const lines = joined.toString('latin1', 0, end).split('\n');
    const statusLine = lines[0]!.replace(/\r$/, '');
    const m = STATUS_LINE.exec(statusLine);
    if (!m) throw new WireError('malformed status line');
    const status = Number(m[1]);
    if (status < 100 || status > 599) throw new WireError(`status ${status} out of range`);
    const headers: HeaderList = [];
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!.replace(/\r$/, '');
      if (line.startsWith(' ') || line.startsWith('\t')) throw new WireError('obsolete line folding');
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      if (!isToken(name)) throw new WireError('malformed header field');
      headers.push([name.toLowerCase(), line.slice(colon + 1).trim()]);
    }
    const rest = joined.subarray(bodyAt);
    if (status < 200) {
      // Go's client consumes interim responses; a 101 would hand the connection over.
      if (status === 101) throw new WireError('101 Switching Protocols is not carried');
      return rest;
    }
    this.#state = this.#framing(status, headers);
    const final = headers.filter(([name]) => name !== 'transfer-encoding');
    try {
      encodeFrame({ type: 'RESPONSE', streamId: 1, endStream: false, status, headers: final });
    } catch (err) {
      throw new WireError((err as Error).message);
    }
    out.push({ type: 'head', head: { status, headers: final } });
    if (this.#state.kind === 'length' && this.#state.left === 0) this.#end(out);
    return rest;
  }

  /** RFC 9112 §6.3: what delimits the body. Drops a Content-Length that Transfer-Encoding overrides. */
  #framing(status: number, headers: HeaderList): BodyState {
    const te = headers.filter(([n]) => n === 'transfer-encoding').map(([, v]) => v);
    const lengths = headers.filter(([n]) => n === 'content-length').map(([, v]) => v.trim());
    if (this.#method === 'HEAD' || status === 204 || status === 304) return { kind: 'length', left: 0 };
    if (te.length > 0) {
      for (let i = headers.length - 1; i >= 0; i--)
        if (headers[i]![0] === 'content-length') headers.splice(i, 1);
      const codings = te
        .join(',')
        .split(',')
        .map((c) => c.trim().toLowerCase())
        .filter(Boolean);
      return codings.at(-1) === 'chunked' ? { kind: 'chunk-size' } : { kind: 'eof' };
    }
    if (lengths.length > 0) {
      const first = lengths[0]!;
      if (!DIGITS.test(first) || lengths.some((l) => l !== first)) {
        throw new WireError('malformed or conflicting Content-Length');
      }
      return { kind: 'length', left: Number(first) };
    }
    return { kind: 'eof' };
  }
}
