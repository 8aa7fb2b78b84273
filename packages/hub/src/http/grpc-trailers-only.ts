import type { ServerResponse } from 'node:http';
import type { HeaderList } from '@slime/protocol';
import type { ResponseBody } from '../pipeline/context.js';

/**
 * An HTTP/2 response whose head carries `grpc-status`: the gRPC wire spec's Trailers-Only form (a
 * call that fails before any message, e.g. an upstream's error status). Over HTTP/1.1 nothing
 * changes (gRPC does not run there).
 */
export function isTrailersOnly(res: ServerResponse, headers: HeaderList): boolean {
  if (res.req?.httpVersionMajor !== 2) return false;
  for (const [name] of headers) if (name === 'grpc-status') return true;
  return false;
}

/**
 * Writes a Trailers-Only answer as one HEADERS frame with END_STREAM. Node's HTTP/2 compatibility
 * response sends `writeHead` at once (a HEADERS frame without END_STREAM, then an empty DATA frame
 * ending the stream, which gRPC clients read as a call without status); fields set with
 * `setHeader` wait for `end()` and leave with END_STREAM. A body byte, should one come, sends the
 * head before it as usual.
 */
export function writeTrailersOnly(
  res: ServerResponse,
  status: number,
  raw: readonly string[],
  body: ResponseBody,
): Promise<void> {
  res.statusCode = status;
  const fields = new Map<string, string[]>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const values = fields.get(name);
    if (values) values.push(raw[i + 1]!);
    else fields.set(name, [raw[i + 1]!]);
  }
  for (const [name, values] of fields) res.setHeader(name, values.length === 1 ? values[0]! : values);
  return body.pipe(res);
}
