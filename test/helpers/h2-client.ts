import { once } from 'node:events';
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';

export interface H2Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: IncomingHttpHeaders | undefined;
}

/** An HTTP/2 session to `url` (https: by ALPN, http: by prior knowledge), async-disposable. */
export async function h2Connect(url: string, ca?: string): Promise<ClientHttp2Session & AsyncDisposable> {
  const session = connect(url, ca === undefined ? {} : { ca, servername: 'localhost' });
  session.on('error', () => {});
  await once(session, 'connect');
  return Object.assign(session, {
    async [Symbol.asyncDispose]() {
      if (session.closed) return;
      session.close();
      if (!session.destroyed) await once(session, 'close');
    },
  });
}

/** Sends one request and reads the whole answer. */
export function h2Request(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body?: string | Buffer,
): Promise<H2Answer> {
  const stream = session.request(headers, { endStream: body === undefined });
  if (body !== undefined) stream.end(body);
  return readAnswer(stream);
}

export function readAnswer(stream: ClientHttp2Stream): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    let head: IncomingHttpHeaders | undefined;
    let trailers: IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      head = h;
    });
    stream.on('trailers', (t) => {
      trailers = t;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () =>
      resolve({
        status: Number(head?.[':status'] ?? 0),
        headers: head ?? {},
        body: Buffer.concat(chunks),
        trailers,
      }),
    );
    stream.on('error', reject);
  });
}
