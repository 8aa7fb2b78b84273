import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import fc from 'fast-check';
import type { EndMode } from './fuzz-http.js';
import { readAll } from './harness.js';

/** What the echo upstream saw, as it answers it. */
export interface Echo {
  method: string;
  url: string;
  length: number;
  sha: string;
  /** x-f-* fields (names lower-cased), in order, repeats kept. */
  xf: Array<[string, string]>;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** An upstream that answers every request with what it received (JSON). */
export async function echo(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readAll(req);
  const xf: Array<[string, string]> = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (name.startsWith('x-f-')) xf.push([name, req.rawHeaders[i + 1]!]);
  }
  const answer: Echo = {
    method: req.method ?? '',
    url: req.url ?? '',
    length: body.length,
    sha: sha(body),
    xf,
  };
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(answer));
}

/** A request as parts, before it is written out. */
interface Parts {
  method: string;
  target: string;
  version: string;
  headers: Array<[string, string]>;
  /** The body bytes exactly as written after the head (already chunk-encoded when chunked). */
  body: Buffer;
}

function serialize(p: Parts, eol = '\r\n'): Buffer {
  const head = `${p.method} ${p.target} ${p.version}${eol}${p.headers.map(([n, v]) => `${n}: ${v}${eol}`).join('')}${eol}`;
  return Buffer.concat([Buffer.from(head, 'latin1'), p.body]);
}

/** Chunked encoding of `body`, cut at `splits` (positions mod the length). */
function chunked(body: Uint8Array, splits: number[]): Buffer {
  const cuts = [...new Set(splits.map((s) => (body.length ? s % body.length : 0)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, body.length]) {
    if (c <= at) continue;
    parts.push(
      Buffer.from(`${(c - at).toString(16)}\r\n`),
      Buffer.from(body.subarray(at, c)),
      Buffer.from('\r\n'),
    );
    at = c;
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

export interface RequestCase {
  label: string;
  bytes: Buffer;
  end: EndMode | 'cut';
  /** For 'cut': how many bytes are written before the connection is dropped. */
  cut: number;
  head: boolean;
  /** The exact answers well-formed requests must get, in order; null when any well-formed answer will do. */
  expect: Echo[] | null;
  /** Number of pipelined requests (each expects its own answer). */
  pipelined: number;
}

// ---------------------------------------------------------------------------------------------
// Well-formed requests: each must come back from the echo upstream exactly as sent.
// ---------------------------------------------------------------------------------------------

const segment = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,9}$/) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('%20', '%41', '%C3%A9', '%2F', '%25', '%7E', 'a;b=c', "a!$&'()*+,=:@"),
  },
);
const qpart = fc.stringMatching(/^[A-Za-z0-9._~%-]{0,8}$/).map((s) => s.replace(/%/g, '%25'));
const target = fc
  .tuple(
    fc.array(segment, { maxLength: 4 }),
    fc.option(fc.array(fc.tuple(qpart, qpart), { minLength: 1, maxLength: 3 }), { nil: undefined }),
  )
  .map(
    ([segs, q]) =>
      `/v/${segs.join('/')}${q === undefined ? '' : `?${q.map(([k, v]) => `${k}=${v}`).join('&')}`}`,
  );
const xfName = fc.constantFrom('x-f-a', 'X-F-B', 'x-f-dup', 'x-f-dup', 'X-f-Mixed');
const xfValue = fc.stringMatching(/^([\x21-\x7e]([\x20-\x7e]{0,20}[\x21-\x7e])?)?$/);

interface Valid {
  method: string;
  target: string;
  xf: Array<[string, string]>;
  body:
    | { kind: 'none' }
    | { kind: 'length'; data: Uint8Array }
    | { kind: 'chunked'; data: Uint8Array; splits: number[] };
  keepAlive: boolean;
}

const validArb: fc.Arbitrary<Valid> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
  target,
  xf: fc.array(fc.tuple(xfName, xfValue), { maxLength: 6 }),
  body: fc.oneof(
    fc.constant({ kind: 'none' as const }),
    fc.record({ kind: fc.constant('length' as const), data: fc.uint8Array({ maxLength: 3000 }) }),
    fc.record({
      kind: fc.constant('chunked' as const),
      data: fc.uint8Array({ maxLength: 3000 }),
      splits: fc.array(fc.nat(), { maxLength: 5 }),
    }),
  ),
  keepAlive: fc.boolean(),
});

function validParts(v: Valid): { parts: Parts; expect: Echo } {
  // GET, HEAD and OPTIONS go without a body: what a body means on them is not defined.
  const body = ['GET', 'HEAD', 'OPTIONS'].includes(v.method) ? ({ kind: 'none' } as const) : v.body;
  // Slime-Block: wait for a free slot instead of a 503 while the batch keeps the agent busy
  const headers: Array<[string, string]> = [['Host', 'fuzz.test'], ['Slime-Block', '1'], ...v.xf];
  let bytes: Buffer = Buffer.alloc(0);
  let data: Uint8Array = new Uint8Array(0);
  if (body.kind === 'length') {
    headers.push(['Content-Length', String(body.data.length)]);
    bytes = Buffer.from(body.data);
    data = body.data;
  } else if (body.kind === 'chunked') {
    headers.push(['Transfer-Encoding', 'chunked']);
    bytes = chunked(body.data, body.splits);
    data = body.data;
  }
  headers.push(['Connection', v.keepAlive ? 'keep-alive' : 'close']);
  return {
    parts: { method: v.method, target: v.target, version: 'HTTP/1.1', headers, body: bytes },
    expect: {
      method: v.method,
      url: v.target,
      length: data.length,
      sha: sha(data),
      xf: v.xf.map(([n, val]) => [n.toLowerCase(), val]),
    },
  };
}

/** One to three well-formed requests, pipelined on one connection. */
export const validCase: fc.Arbitrary<RequestCase> = fc
  .array(validArb, { minLength: 1, maxLength: 3 })
  .map((vs) => {
    // Only the last one may ask to close the connection. A HEAD answer carries no body, which a
    // reader of pipelined answers cannot tell from a bodiless GET answer: pipelines use GET.
    const all = vs.map((v, i) =>
      validParts({
        ...v,
        method: vs.length > 1 && v.method === 'HEAD' ? 'GET' : v.method,
        keepAlive: i < vs.length - 1 ? true : v.keepAlive,
      }),
    );
    const first = all[0]!;
    return {
      label: `valid x${vs.length}: ${all.map((a) => `${a.parts.method} ${a.parts.target} ${a.expect.length}`).join(' | ')}`,
      bytes: Buffer.concat(all.map((a) => serialize(a.parts))),
      end: 'keep',
      cut: 0,
      head: vs.length === 1 && first.parts.method === 'HEAD',
      expect: all.map((a) => a.expect),
      pipelined: vs.length,
    };
  });

// ---------------------------------------------------------------------------------------------
// Odd requests: a well-formed one with a few things broken. Any answer must still be well-formed
// HTTP, and the hub's own refusals problem+json.
// ---------------------------------------------------------------------------------------------

/** Whether Node will see the request as complete from the bytes alone. */
type Completeness = 'yes' | 'no' | 'maybe';

type Mutation = (p: Parts, n: number) => Completeness;

const pick = <T>(xs: readonly T[], n: number): T => xs[n % xs.length]!;

const setHeader = (p: Parts, name: string, value: string) => {
  p.headers = p.headers.filter(([k]) => k.toLowerCase() !== name.toLowerCase());
  p.headers.push([name, value]);
};

const MUTATIONS: Record<string, Mutation> = {
  method(p, n) {
    p.method = pick(
      [
        'FOO',
        'get',
        'M-SEARCH',
        'PROPFIND',
        'PRI',
        'TRACE',
        'QUERY',
        'CONNECT',
        'G ET',
        'G\xc9T',
        '',
        '\x00',
        'GET\t',
      ],
      n,
    );
    return 'yes';
  },
  target(p, n) {
    const odd = pick(
      [
        ' ',
        '\t',
        '\x00',
        '\x7f',
        '\x80',
        '\xff',
        '#',
        '%',
        '%zz',
        '\\',
        '"',
        '<',
        '{',
        '|',
        '^',
        '`',
        '/..',
        '//',
        ';',
        '?',
        '@',
        ':',
        '%00',
        '%2e%2e',
      ],
      n,
    );
    const at = (n >> 5) % (p.target.length + 1);
    p.target = p.target.slice(0, at) + odd + p.target.slice(at);
    return 'yes';
  },
  targetForm(p, n) {
    p.target = pick(
      ['*', 'http://fuzz.test/abs?q=1', 'fuzz.test:443', '', '/_slime/agent', '/_slime/health?x', 'x'],
      n,
    );
    return 'yes';
  },
  longTarget(p, n) {
    p.target = `/${'a'.repeat(pick([8_000, 16_500, 70_000], n))}`;
    return 'yes';
  },
  version(p, n) {
    p.version = pick(
      ['HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', 'HTTP/1.1 ', 'http/1.1', 'HTTP/1', 'HTTP/0.9', ''],
      n,
    );
    return 'yes';
  },
  headerName(p, n) {
    p.headers.splice(1, 0, [
      pick(['', ' x', 'x ', 'x y', 'x:y', '\xe9', '\x00', 'x\t', '(x)', 'x-f-ok'], n),
      'v',
    ]);
    return 'yes';
  },
  headerValue(p, n) {
    p.headers.splice(1, 0, [
      'x-f-odd',
      pick(['\x00', '\x7f', '\x01', '\xe9', '\xff', '  lead', 'trail  ', 'a\rb', 'a\r\n continued', ''], n),
    ]);
    return 'yes';
  },
  host(p, n) {
    const v = n % 6;
    if (v === 0) p.headers = p.headers.filter(([k]) => k.toLowerCase() !== 'host');
    else if (v === 1) p.headers.push(['Host', 'other.test']);
    else setHeader(p, 'Host', pick(['', 'a b', 'x:99999', '[::1', 'x/y'], n));
    return 'yes';
  },
  framing(p, n) {
    // the body stays as it is; the fields announcing it change. Those Node refuses are answered at
    // once; those it accepts as chunked may read a plain body as chunk sizes and wait for more.
    const len = String(p.body.length);
    const combos: Array<[Completeness, Array<[string, string]>]> = [
      [
        'yes',
        [
          ['Content-Length', len],
          ['Transfer-Encoding', 'chunked'],
        ],
      ],
      [
        'yes',
        [
          ['Content-Length', len],
          ['Content-Length', len],
        ],
      ],
      [
        'yes',
        [
          ['Content-Length', len],
          ['Content-Length', `${p.body.length + 1}`],
        ],
      ],
      ['yes', [['Content-Length', `${len}, ${len}`]]],
      ['yes', [['Content-Length', '-1']]],
      ['yes', [['Content-Length', '1e3']]],
      ['yes', [['Content-Length', ` ${len} `]]],
      ['yes', [['Content-Length', '0x10']]],
      ['yes', [['Content-Length', '99999999999999999999']]],
      ['yes', [['Transfer-Encoding', 'gzip']]],
      ['yes', [['Transfer-Encoding', 'identity']]],
      ['maybe', [['Transfer-Encoding', 'chunked, chunked']]],
      ['maybe', [['Transfer-Encoding', 'gzip, chunked']]],
      [
        'maybe',
        [
          ['Transfer-Encoding', 'chunked'],
          ['Transfer-Encoding', 'chunked'],
        ],
      ],
      ['maybe', [['Transfer-Encoding', 'Chunked']]],
    ];
    const [complete, fields] = pick(combos, n);
    p.headers = p.headers.filter(([k]) => !['content-length', 'transfer-encoding'].includes(k.toLowerCase()));
    p.headers.push(...fields);
    return complete;
  },
  badChunks(p, n) {
    setHeader(p, 'Transfer-Encoding', 'chunked');
    p.headers = p.headers.filter(([k]) => k.toLowerCase() !== 'content-length');
    const bodies = [
      'zz\r\nab\r\n0\r\n\r\n',
      '2;ext=1\r\nab\r\n0\r\n\r\n',
      '2\r\nab\r\n0\r\nX-T: 1\r\n\r\n',
      ' 2\r\nab\r\n0\r\n\r\n',
      '2\r\nabc\r\n0\r\n\r\n',
      '2\nab\n0\n\n',
      'fffffffffffffffff\r\nab',
    ];
    p.body = Buffer.from(pick(bodies, n), 'latin1');
    // a bare-LF chunk may be read leniently and wait; the overflowing size never ends
    return (['yes', 'yes', 'yes', 'yes', 'yes', 'maybe', 'no'] as const)[n % bodies.length]!;
  },
  truncated(p, n) {
    setHeader(p, 'Content-Length', String(p.body.length + 1 + (n % 100)));
    p.headers = p.headers.filter(([k]) => k.toLowerCase() !== 'transfer-encoding');
    return 'no';
  },
  unterminatedChunks(p) {
    setHeader(p, 'Transfer-Encoding', 'chunked');
    p.headers = p.headers.filter(([k]) => k.toLowerCase() !== 'content-length');
    p.body = Buffer.from('5\r\nhello\r\n');
    return 'no';
  },
  trailing(p, n) {
    p.body = Buffer.concat([
      p.body,
      Buffer.from(pick(['xyz', 'GET / HTTP/1.1\r\n', '\r\n\r\n', 'G'], n), 'latin1'),
    ]);
    return 'yes';
  },
  expect(p, n) {
    p.headers.push(['Expect', pick(['100-continue', 'foo', '100-Continue'], n)]);
    return 'yes';
  },
  upgrade(p, n) {
    setHeader(
      p,
      'Connection',
      pick(['Upgrade', 'upgrade, HTTP2-Settings', 'close, x-f-a', 'keep-alive, te'], n),
    );
    p.headers.push(['Upgrade', pick(['websocket', 'h2c', 'foo/1'], n >> 2)]);
    if (n % 2)
      p.headers.push(['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13']);
    return 'yes';
  },
  slime(p, n) {
    const sets: Array<Array<[string, string]>> = [
      [['Slime-Scope', 'nope']],
      [['Slime-Block-Timeout', 'abc']],
      [
        ['Slime-Block', '1'],
        ['Slime-Block-Timeout', '0.05'],
        ['Slime-Scope', 'nope'],
      ],
      [['Slime-Block', '1']],
      [['Slime-Scope', '']],
      [
        ['X-Request-Id', 'fuzz-id'],
        ['X-Request-Id', '\x7f'],
      ],
      [['X-Forwarded-For', '1.2.3.4, not-an-ip']],
    ];
    // a block for a scope nobody serves waits until the client leaves: only with a timeout
    p.headers = p.headers.filter(([k]) => k.toLowerCase() !== 'slime-block');
    p.headers.push(...pick(sets, n));
    return 'yes';
  },
  bigHeaders(p, n) {
    const v = n % 3;
    if (v === 0) p.headers.push(['x-f-big', 'b'.repeat(20_000)]);
    else if (v === 1) for (let i = 0; i < 300; i++) p.headers.push([`x-f-${i}`, 'v']);
    else p.headers.push(['x-f-big', 'b'.repeat(15_000)]);
    return 'yes';
  },
};

const mutationNames = Object.keys(MUTATIONS);

export const oddCase: fc.Arbitrary<RequestCase> = fc
  .record({
    base: validArb,
    mutations: fc.array(fc.tuple(fc.constantFrom(...mutationNames), fc.nat()), {
      minLength: 1,
      maxLength: 3,
    }),
    bareLf: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, fc.constant(true)),
    end: fc.constantFrom<EndMode | 'cut'>('keep', 'keep', 'keep', 'half-close', 'destroy', 'cut'),
    cut: fc.nat(),
  })
  .map(({ base, mutations, bareLf, end, cut }) => {
    const { parts } = validParts({ ...base, keepAlive: false });
    let complete: Completeness = 'yes';
    for (const [name, n] of mutations) {
      const c = MUTATIONS[name]!(parts, n);
      if (c === 'no' || (c === 'maybe' && complete === 'yes')) complete = c;
    }
    const bytes = serialize(parts, bareLf ? '\n' : '\r\n');
    // A request that may be incomplete would leave the hub waiting for the rest: send FIN (or drop).
    const mode = end === 'keep' && complete !== 'yes' ? 'half-close' : end;
    return {
      label: `odd [${mutations.map(([m, n]) => `${m}:${n}`).join(', ')}] ${bareLf ? 'LF ' : ''}${mode}: ${JSON.stringify(bytes.toString('latin1').slice(0, 160))}`,
      bytes,
      end: mode,
      cut: bytes.length > 1 ? 1 + (cut % (bytes.length - 1)) : 0,
      head: parts.method === 'HEAD',
      expect: null,
      pipelined: 1,
    };
  });
