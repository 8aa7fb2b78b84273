import { connect } from 'node:net';

/**
 * Writes `text` to 127.0.0.1:port as raw bytes and resolves with everything read until the server
 * closes the connection (the requests send Connection: close). For what an HTTP client would not
 * send: odd targets, duplicate fields, malformed framing.
 */
export function rawExchange(
  port: number,
  text: string | Buffer,
  opts: { endAfterWrite?: boolean } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.once('error', (err) => {
      // a reset after the answer arrived still counts as the answer
      if (chunks.length > 0) resolve(Buffer.concat(chunks).toString('latin1'));
      else reject(err);
    });
    socket.write(text);
    if (opts.endAfterWrite) socket.end();
  });
}
