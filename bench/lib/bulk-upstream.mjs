import { Readable } from 'node:stream';
// The large-body shapes of the bench's upstream (scenario 2 and the large-body probes):
//   /download?bytes=N  N bytes streamed with backpressure; /upload  counts the body, answers the count.
/** The piece bodies are written in (64 KiB, as a socket reads). */
export const CHUNK = Buffer.alloc(64 * 1024, 'x');

export function download(res, bytes) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes });
  let left = bytes;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      const ok = res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
      if (!ok) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

export function upload(req, res) {
  let bytes = 0;
  req.on('data', (c) => {
    bytes += c.length;
  });
  req.on('end', () => {
    const body = String(bytes);
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  });
}

/** A request handler serving just those two paths. */
export function bulkHandler(req, res) {
  if (req.url.startsWith('/download')) {
    return download(res, Number(new URL(req.url, 'http://x').searchParams.get('bytes')));
  }
  upload(req, res);
}

/** A request body of `bytes` bytes in CHUNK pieces (the client side of /upload). */
export function bulkBody(bytes) {
  return Readable.from(
    (function* () {
      let left = bytes;
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        yield n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n);
      }
    })(),
  );
}
