import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ParseEvent, ResponseParser, requestHead, WireError } from '../../src/go-compat/http-wire.js';

/** Feeds `wire` to a parser in the given pieces; returns the head, the body and whether it ended. */
function parse(method: string, pieces: Uint8Array[], eof = true) {
  const p = new ResponseParser(method);
  const events: ParseEvent[] = [];
  for (const piece of pieces) events.push(...p.push(piece));
  if (eof) events.push(...p.finish());
  const head = events.find((e) => e.type === 'head');
  const body = Buffer.concat(events.flatMap((e) => (e.type === 'data' ? [e.data] : [])));
  return {
    head: head?.type === 'head' ? head.head : undefined,
    body: body.toString('latin1'),
    ended: events.some((e) => e.type === 'end'),
    done: p.done,
  };
}

const b = (s: string) => Buffer.from(s, 'latin1');

/** Splits `bytes` at the given cut points. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((i) => i % (bytes.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

describe('the request the hub hands to a Go agent', () => {
  it('puts Host first and frames the body by Content-Length or chunked', () => {
    const headers: Array<[string, string]> = [
      ['accept', '*/*'],
      ['host', 'app.example:8080'],
      ['content-length', '3'],
    ];
    expect(requestHead('POST', '/a?b=1', headers, 'length').toString('latin1')).toBe(
      'POST /a?b=1 HTTP/1.1\r\nHost: app.example:8080\r\naccept: */*\r\ncontent-length: 3\r\n\r\n',
    );
    expect(requestHead('POST', '/a', headers, 'chunked').toString('latin1')).toBe(
      'POST /a HTTP/1.1\r\nHost: app.example:8080\r\naccept: */*\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    expect(requestHead('GET', '/', [['x', 'caf\u00e9']], 'none')).toEqual(
      b('GET / HTTP/1.1\r\nx: caf\u00e9\r\n\r\n'),
    );
  });
});

describe('the response a Go agent submits', () => {
  it('reads a Content-Length body, however the submit is cut (fast-check)', () => {
    const wire = b(
      'HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nX-A: 1\r\n\r\nhello world',
    );
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 6 }), (at) => {
        const r = parse('GET', cut(wire, at), false);
        expect(r.head).toEqual({
          status: 201,
          headers: [
            ['content-type', 'text/plain'],
            ['content-length', '11'],
            ['x-a', '1'],
          ],
        });
        expect(r.body).toBe('hello world');
        expect(r.ended).toBe(true);
      }),
    );
  });

  it('decodes chunked bodies (extensions, trailers dropped), however the submit is cut (fast-check)', () => {
    const wire = b(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 999\r\n\r\n' +
        '5;ext=1\r\nhello\r\n1\r\n \r\na\r\nworld!!!!!\r\n0\r\nX-Trailer: t\r\n\r\nIGNORED',
    );
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 8 }), (at) => {
        const r = parse('GET', cut(wire, at), false);
        // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3), and the body goes on decoded
        expect(r.head).toEqual({ status: 200, headers: [] });
        expect(r.body).toBe('hello world!!!!!');
        expect(r.ended).toBe(true);
      }),
    );
  });

  it('reads a body without framing until the submit ends (Go writes one when it decompressed)', () => {
    const r = parse('GET', [b('HTTP/1.1 200 OK\r\nX: y\r\n\r\nabc'), b('def')]);
    expect(r.body).toBe('abcdef');
    expect(r.ended).toBe(true);
    const open = parse('GET', [b('HTTP/1.1 200 OK\r\n\r\nabc')], false);
    expect(open.ended).toBe(false);
  });

  it('gives HEAD, 204 and 304 answers no body whatever their fields say', () => {
    expect(parse('HEAD', [b('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n')], false)).toMatchObject({
      body: '',
      ended: true,
    });
    expect(parse('GET', [b('HTTP/1.1 204 No Content\r\n\r\n')], false).ended).toBe(true);
    expect(parse('GET', [b('HTTP/1.0 304 Not Modified\r\nContent-Length: 5\r\n\r\n')], false).ended).toBe(
      true,
    );
  });

  it('skips interim responses and accepts bare LF line ends', () => {
    const r = parse(
      'GET',
      [b('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\nContent-Length: 2\n\nok')],
      false,
    );
    expect(r.head?.status).toBe(200);
    expect(r.body).toBe('ok');
  });

  it('refuses malformed responses and those beyond the protocol limits', () => {
    const bad = [
      'HTTP/2 200 OK\r\n\r\n',
      'HTTP/1.1 20 OK\r\n\r\n',
      'HTTP/1.1 600 Nope\r\n\r\n',
      'HTTP/1.1 101 Switching Protocols\r\n\r\n',
      'HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n',
      'HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n',
      `HTTP/1.1 200 OK\r\n${'X-Many: 1\r\n'.repeat(300)}\r\n`,
      `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`,
    ];
    for (const wire of bad)
      expect(() => parse('GET', [b(wire)], false), wire.slice(0, 40)).toThrow(WireError);
    expect(() => parse('GET', [Buffer.alloc(200 * 1024, 'a')], false)).toThrow(/too large/);
    // a submit that ends early
    expect(() => parse('GET', [b('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab')])).toThrow(/middle/);
    expect(() => parse('GET', [b('HTTP/1.1 200 OK\r\n')])).toThrow(/head/);
  });
});
