import { PassThrough, type Readable } from 'node:stream';

/**
 * A request body for the next agent after one refused it: the chunks the hub already read from
 * the client, then whatever the client has not sent yet. `source` must be paused with no `data`
 * listener left. The chunks are at most one agent window, so holding them is bounded.
 */
export function replayBody(chunks: readonly Uint8Array[], source: Readable, sourceEnded: boolean): Readable {
  // Nothing read yet: the untouched source is as good as new.
  if (chunks.length === 0 && !sourceEnded) return source;
  const body = new PassThrough();
  for (const c of chunks) body.write(c);
  if (sourceEnded) {
    body.end();
  } else {
    source.once('error', (err) => body.destroy(err));
    source.pipe(body);
  }
  return body;
}
