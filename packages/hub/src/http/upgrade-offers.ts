import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

/** Fields that only make sense with the upgrade offer they came with. */
const OFFER_FIELDS: ReadonlySet<string> = new Set(['upgrade', 'http2-settings']);

/**
 * The request head without its upgrade offer: `Upgrade`, `HTTP2-Settings`, and their tokens in
 * `Connection` (dropped whole when nothing else is left in it).
 */
export function headWithoutOffer(req: IncomingMessage): string {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (OFFER_FIELDS.has(lower)) continue;
    let value = raw[i + 1]!;
    if (lower === 'connection') {
      value = value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '' && !OFFER_FIELDS.has(t.toLowerCase()))
        .join(', ');
      if (value === '') continue;
    }
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

/**
 * A connection whose first bytes are given back: `prefix`, then whatever the socket reads. Lets
 * the HTTP server parse a request head again after Node handed the socket over for an upgrade.
 * Not a stream-base handle, so Node's parser reads it through plain `data` events.
 */
class ReplayedConnection extends Duplex {
  readonly #socket: Socket;
  #prefix: Buffer | null;

  constructor(socket: Socket, prefix: Buffer) {
    super({ allowHalfOpen: true });
    this.#socket = socket;
    this.#prefix = prefix;
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.once('end', () => this.push(null));
    socket.once('error', (err) => this.destroy(err));
    socket.once('close', () => this.destroy());
    socket.on('drain', () => this.emit('drain'));
    socket.pause();
  }

  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.#socket.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.#socket.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.#socket.localAddress;
  }
  get localPort(): number | undefined {
    return this.#socket.localPort;
  }
  get encrypted(): boolean {
    return (this.#socket as { encrypted?: boolean }).encrypted === true;
  }

  setTimeout(ms: number, cb?: () => void): this {
    this.#socket.setTimeout(ms);
    if (cb) this.once('timeout', cb);
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.#socket.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.#socket.setKeepAlive(enable, delay);
    return this;
  }

  override _read(): void {
    if (this.#prefix) {
      const prefix = this.#prefix;
      this.#prefix = null;
      this.push(prefix);
    }
    this.#socket.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#socket.write(chunk, encoding, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#socket.end(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#socket.destroy();
    cb(err);
  }
}

/**
 * Serves a request that offered an upgrade we do not take (an `h2c` offer from the Java HttpClient
 * or `curl --http2`) as the plain HTTP/1.1 request it also is, as RFC 9110 §7.8 allows: Node gives
 * every request carrying `Upgrade` to the 'upgrade' listener with the parser already detached, so
 * the head is rebuilt without the offer and the connection handed back to the same server. The
 * connection then carries on as an ordinary keep-alive connection.
 */
export function serveWithoutUpgrade(
  server: Server,
  req: IncomingMessage,
  socket: Socket,
  rest: Buffer,
): void {
  const prefix = Buffer.concat([Buffer.from(headWithoutOffer(req), 'latin1'), rest]);
  const replayed = new ReplayedConnection(socket, prefix);
  // over TLS the handshake is done: an https server takes such a socket as 'secureConnection'
  server.emit(replayed.encrypted ? 'secureConnection' : 'connection', replayed);
}
