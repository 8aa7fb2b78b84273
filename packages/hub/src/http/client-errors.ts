import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { HubError } from '../errors.js';
import { problemBody, statusTitle, writeProblem } from './problem.js';

/** How long a refused connection keeps reading before it is dropped (see `lingeringClose`). */
const LINGER_MS = 2_000;

/** A parser error as node:http's 'clientError' passes it (bytesParsed: into the current read). */
export type ParseError = Error & {
  code?: string | undefined;
  rawPacket?: Buffer | undefined;
  bytesParsed?: number | undefined;
};

/** Parser failures in our words; llhttp's reason strings are its own vocabulary. */
const MALFORMED: Readonly<Record<string, string>> = {
  HPE_INVALID_TRANSFER_ENCODING:
    'Content-Length and Transfer-Encoding conflict, or Transfer-Encoding is malformed',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'more than one Content-Length, or Content-Length with Transfer-Encoding',
  HPE_INVALID_CONTENT_LENGTH: 'malformed Content-Length',
  HPE_INVALID_URL:
    'request target has a character that must be percent-encoded (space, control or non-ASCII byte)',
  HPE_INVALID_METHOD: 'malformed request line (method)',
  HPE_INVALID_HEADER_TOKEN: 'malformed header field',
  HPE_INVALID_CHUNK_SIZE: 'malformed chunked body',
  HPE_LF_EXPECTED: 'malformed line ending',
  HPE_CR_EXPECTED: 'malformed line ending',
  HPE_INVALID_CONSTANT: 'malformed request line',
};

/**
 * What a client error from Node's HTTP parser means for the client: a stable code, a status, and a
 * message in our words.
 */
export function classifyClientError(err: ParseError): HubError {
  const code = err.code ?? '';
  if (code === 'HPE_HEADER_OVERFLOW') {
    // Node counts the request line toward the header limit; a head whose first line never ended
    // within it is a target that is too long (414), anything else too many header bytes (431).
    const raw = err.rawPacket;
    const lineEnds = raw ? raw.indexOf(10) !== -1 : true;
    return lineEnds
      ? new HubError('ERR_HUB_HEADERS_TOO_LARGE', 'request header fields exceed the hub limit')
      : new HubError('ERR_HUB_URI_TOO_LONG', 'request target exceeds the hub limit');
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_HEADER_TIMEOUT') {
    return new HubError('ERR_HUB_REQUEST_TIMEOUT', 'request head not received in time');
  }
  if (code === 'HPE_INVALID_VERSION') {
    return new HubError('ERR_HUB_HTTP_VERSION', 'only HTTP/1.0 and HTTP/1.1 are served on this port');
  }
  return new HubError('ERR_HUB_MALFORMED_REQUEST', MALFORMED[code] ?? 'malformed HTTP request');
}

const answered = new WeakSet<Duplex>();

/**
 * Responses the parser's refusal answered while their pipeline still ran (a body that broke
 * mid-way): when their connection closes, the request is over even though the response finished.
 */
const answeredEarly = new WeakSet<ServerResponse>();

/** Whether the HTTP parser's 400 answered this response before the pipeline could. */
export function wasAnsweredEarly(res: ServerResponse): boolean {
  return answeredEarly.has(res);
}

/**
 * The HTTP server's `clientError` hook: a request the parser refused gets a problem+json answer
 * with a stable code (Node's default is a bare status line) and a lingering close, so a client
 * still sending a 64 KiB target reads the answer instead of a connection reset.
 */
export function clientErrorHandler(log: Logger, onRefused?: (code: string) => void) {
  return (err: ParseError, socket: Duplex): void => {
    if (answered.has(socket)) return;
    answered.add(socket);
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const problem = classifyClientError(err);
    const res = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
    if (res) {
      // A request is being answered on this connection. The parser is done with it either way:
      // the answer under way finishes, then the connection closes.
      log.info(
        { code: problem.code, parserCode: err.code },
        'malformed bytes after a request; closing after its answer',
      );
      onRefused?.(problem.code);
      if (res.writableFinished) {
        socket.end();
        return;
      }
      res.once('finish', () => socket.end());
      res.once('close', () => socket.end());
      if (!res.headersSent) {
        if (res.req.complete) {
          // the request was whole (bytes after it are the problem): its answer goes out, then close
          res.shouldKeepAlive = false;
        } else {
          // Its own body broke mid-way: that request is answered with the 400, then the socket
          // goes, which ends the request body in an error so its stream is cancelled at the agent.
          res.setHeader('connection', 'close');
          answeredEarly.add(res);
          res.once('finish', () => socket.destroy());
          writeProblem(res, problem);
        }
      }
      return;
    }
    log.info({ code: problem.code, parserCode: err.code }, 'malformed request refused');
    onRefused?.(problem.code);
    writeRawProblem(socket, problem);
  };
}

/**
 * Answers on a socket that has no ServerResponse (a parser error, an upgrade or CONNECT we do not
 * serve) with a problem+json response, then closes it without losing the answer.
 */
export function writeRawProblem(socket: Duplex, problem: HubError): void {
  const body = problemBody(problem);
  socket.on('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${problem.status} ${statusTitle(problem.status)}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Cache-Control: no-store\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  );
  lingeringClose(socket);
}

/**
 * Closes our side and keeps reading for a moment: closing a socket with unread input makes the
 * kernel send RST, which can destroy the answer before the client reads it (RFC 9112 §9.6).
 */
function lingeringClose(socket: Duplex): void {
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
  socket.resume();
}
