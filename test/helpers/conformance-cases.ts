import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Req } from './conformance-exchange.js';
import type { Mask } from './conformance-special.js';

/** A named row of the conformance table. `mask` names the one part of a body that may differ. */
export interface Case extends Req {
  name: string;
  mask?: Mask;
  /**
   * httpbin's seeded /bytes and /stream-bytes share Python's one global `random` between its
   * threads: two seeded requests at once interleave their draws. Such cases run one at a time,
   * and send their two requests one after the other.
   */
  sequential?: boolean;
}

/** `GET /path [name: value]`, cut short so a 4 KB query still makes a readable test name. */
function label(method: string, path: string, headers: readonly string[]): string {
  const pairs = headers.flatMap((h, i) => (i % 2 ? [] : [`${h}: ${headers[i + 1]}`]));
  const name = `${method} ${path}${pairs.length ? ` [${pairs.join(', ')}]` : ''}`;
  return name.length > 100 ? `${name.slice(0, 97)}...` : name;
}

const get = (path: string, ...headers: string[]): Case => ({
  name: label('GET', path, headers),
  path,
  headers,
});
const head = (path: string, ...headers: string[]): Case => ({
  name: label('HEAD', path, headers),
  method: 'HEAD',
  path,
  headers,
});
const named = (name: string, c: Omit<Case, 'name'>): Case => ({ name, ...c });

/** A stream that yields `body` in `size`-byte chunks, so undici sends it chunked. */
export const chunks = (body: Buffer, size: number) => () =>
  Readable.from(
    (function* () {
      for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
    })(),
  );

const JSON_BODY = Buffer.from('{"k":"v","n":[1,2,3],"s":"é"}');
const JSON_TYPE = ['content-type', 'application/json'];
const BINARY = randomBytes(64 * 1024);
const OCTETS = ['content-type', 'application/octet-stream'];
/** 10 MiB: httpbin caps /bytes and /stream-bytes at 100 KiB, but echoes an upload of any size. */
const TEN_MIB = randomBytes(10 * 1024 * 1024);
const MULTIPART = Buffer.from(
  '--XyZ\r\ncontent-disposition: form-data; name="field"\r\n\r\nvalue\r\n' +
    '--XyZ\r\ncontent-disposition: form-data; name="file"; filename="a.bin"\r\n' +
    'content-type: application/octet-stream\r\n\r\n\x00\x01\xfe\xff\r\n--XyZ--\r\n',
  'latin1',
);

const methods: Case[] = [
  get('/anything'),
  head('/anything'),
  named('OPTIONS /anything', { method: 'OPTIONS', path: '/anything' }),
  ...(['POST', 'PUT', 'PATCH', 'DELETE'] as const).map((method) =>
    named(`${method} /anything with JSON`, {
      method,
      path: '/anything',
      headers: JSON_TYPE,
      body: JSON_BODY,
    }),
  ),
  named('TRACE /anything', { method: 'TRACE', path: '/anything' }),
  get('/get?x=1'),
  named('POST /post', { method: 'POST', path: '/post', headers: JSON_TYPE, body: JSON_BODY }),
  named('PUT /put', { method: 'PUT', path: '/put', headers: OCTETS, body: BINARY.subarray(0, 1000) }),
  named('PATCH /patch', { method: 'PATCH', path: '/patch', body: Buffer.from('plain text') }),
  named('DELETE /delete', { method: 'DELETE', path: '/delete' }),
  named('POST /get is 405', { method: 'POST', path: '/get', body: Buffer.from('x') }),
  named('DELETE /status/418', { method: 'DELETE', path: '/status/418' }),
];

const targets: Case[] = [
  get('/anything?a=1&a=2&b=%20%2F&c=%C3%A9'),
  get('/anything?q=a+b&plus=%2B&amp=%26&eq=%3D&pct=%25'),
  get('/anything?flag&empty=&=novalue&x=1&x=&x=3'),
  get('/anything/%2F%3F%23/seg%20ment/%C3%A9t%C3%A9'),
  get("/anything/a;b=c/~user/!$'()*,:@"),
  get('/anything//double//slash/'),
  get('/anything/./dot/../segments'),
  get(`/anything?long=${'x'.repeat(4000)}`),
  named('OPTIONS * (asterisk-form)', { method: 'OPTIONS', path: '*', raw: true }),
  // RFC 9112 §3.2.2: a server MUST accept the absolute-form, not only proxies.
  named('GET absolute-form target', { path: '{origin}/anything?abs=1', raw: true }),
  named('OPTIONS absolute-form target', { method: 'OPTIONS', path: '{origin}/anything', raw: true }),
];

const requestHeaders: Case[] = [
  named('repeated request header', {
    path: '/headers',
    headers: ['x-multi', '1', 'x-multi', '2', 'X-Multi', '3'],
  }),
  named('odd request header values', {
    path: '/headers',
    headers: ['x-odd', 'a, b;c="d"', 'x-tab', 'a\tb', 'x-empty', '', 'X-MiXeD-CaSe', 'v'],
  }),
  named('fifty request headers', {
    path: '/headers',
    headers: Array.from({ length: 50 }, (_, i) => [`x-h${i}`, `v${i}`]).flat(),
  }),
  named('6 KB request header', { path: '/headers', headers: ['x-big', 'b'.repeat(6000)] }),
  named('user agent', {
    path: '/user-agent',
    headers: ['user-agent', 'conformance/1.0 (+slime; like curl)'],
  }),
  named('cookie header', { path: '/cookies', headers: ['cookie', 'a=1; b=two; c="q"'] }),
  named('two cookie header lines', { path: '/cookies', headers: ['cookie', 'a=1', 'cookie', 'b=2'] }),
  get('/ip'),
  // ?show_env makes httpbin echo X-Forwarded-For/-Proto and X-Request-Id too: with the client's
  // own id, the upstream must see exactly the documented fields, with the same values.
  get('/anything?show_env=1', 'x-request-id', 'conf-show-env'),
];

const setCookies: Case[] = [
  get('/cookies/set?a=1&b=2'),
  get('/cookies/set/name/value'),
  get('/cookies/delete?a&b'),
  get('/response-headers?Set-Cookie=a%3D1&Set-Cookie=b%3D2'),
];

/** Every status of the issue, GET and HEAD, plus a broader set by GET. */
const STATUSES = [
  200, 201, 202, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 409, 410, 418, 429, 500,
  501, 502, 503, 504,
];
const MORE_STATUSES = [
  203, 205, 207, 226, 300, 305, 402, 406, 407, 408, 411, 412, 413, 414, 415, 416, 417, 421, 422, 425, 426,
  428, 431, 451, 505, 511, 599,
];
const statuses: Case[] = [
  ...STATUSES.map((s) => get(`/status/${s}`)),
  ...STATUSES.map((s) => head(`/status/${s}`)),
  ...MORE_STATUSES.map((s) => get(`/status/${s}`)),
];

const redirects: Case[] = [
  get('/redirect-to?url=%2Fget'),
  ...[301, 303, 307, 308].map((s) =>
    get(`/redirect-to?url=http%3A%2F%2Fexample.invalid%2Fx%3Fy%3D1&status_code=${s}`),
  ),
  named('POST /redirect-to 307', {
    method: 'POST',
    path: '/redirect-to?url=%2Fanything&status_code=307',
    body: Buffer.from('kept'),
  }),
  get('/redirect/2'),
  get('/redirect/1?absolute=true'),
  get('/absolute-redirect/1'),
  get('/relative-redirect/1'),
];

const encodings: Case[] = [
  { ...get('/gzip', 'accept-encoding', 'gzip'), mask: 'gzip-mtime' },
  head('/gzip', 'accept-encoding', 'gzip'),
  get('/deflate', 'accept-encoding', 'deflate'),
  get('/brotli', 'accept-encoding', 'br'),
];

const ranges: Case[] = [
  get('/range/1024'),
  get('/range/1024', 'range', 'bytes=0-99'),
  get('/range/1024', 'range', 'bytes=1000-'),
  get('/range/1024', 'range', 'bytes=-24'),
  get('/range/1024', 'range', 'bytes=2000-3000'),
  get('/range/1024?chunk_size=100', 'range', 'bytes=10-509'),
  ...[
    '/bytes/1024?seed=7',
    '/bytes/102400?seed=7',
    '/stream-bytes/10000?seed=3&chunk_size=999',
    // httpbin caps /stream-bytes (and /bytes) at 100 KiB: this gets 102400 bytes, not 10 MiB.
    '/stream-bytes/10485760?seed=1&chunk_size=65536',
  ].map((p) => ({ ...get(p), sequential: true })),
  get('/bytes/0'),
  get('/stream/5'),
  get('/stream/1'),
];

const uploads: Case[] = [
  named('POST 64 KiB binary with Content-Length', {
    method: 'POST',
    path: '/anything',
    headers: OCTETS,
    body: BINARY,
  }),
  named('POST 64 KiB binary chunked', {
    method: 'POST',
    path: '/anything',
    headers: OCTETS,
    body: chunks(BINARY, 7000),
    mask: 'request-framing',
  }),
  named('POST empty body', { method: 'POST', path: '/anything', headers: ['content-length', '0'] }),
  named('POST form', {
    method: 'POST',
    path: '/anything',
    headers: ['content-type', 'application/x-www-form-urlencoded'],
    body: Buffer.from('a=1&a=2&b=%20&c=%C3%A9'),
  }),
  named('POST multipart', {
    method: 'POST',
    path: '/anything',
    headers: ['content-type', 'multipart/form-data; boundary=XyZ'],
    body: MULTIPART,
  }),
  named('POST 10 MiB with Content-Length', {
    method: 'POST',
    path: '/anything',
    headers: OCTETS,
    body: TEN_MIB,
  }),
  named('POST 10 MiB chunked', {
    method: 'POST',
    path: '/anything',
    headers: OCTETS,
    body: chunks(TEN_MIB, 65536),
    mask: 'request-framing',
  }),
  named('PUT 1 KiB text chunked', {
    method: 'PUT',
    path: '/anything',
    headers: ['content-type', 'text/plain; charset=utf-8'],
    body: chunks(Buffer.from('é-chunk-'.repeat(128)), 100),
    mask: 'request-framing',
  }),
];

const auth: Case[] = [
  get('/basic-auth/u/p', 'authorization', `Basic ${Buffer.from('u:p').toString('base64')}`),
  get('/basic-auth/u/p', 'authorization', `Basic ${Buffer.from('u:wrong').toString('base64')}`),
  get('/basic-auth/u/p'),
  get('/hidden-basic-auth/u/p', 'authorization', `Basic ${Buffer.from('u:x').toString('base64')}`),
  get('/bearer', 'authorization', 'Bearer abc.def'),
  get('/bearer'),
  get('/bearer', 'authorization', 'Basic dTpw'),
];

const conditionals: Case[] = [
  get('/etag/abc'),
  get('/etag/abc', 'if-none-match', '"abc"'),
  get('/etag/abc', 'if-none-match', '"xyz"'),
  get('/etag/abc', 'if-match', '"xyz"'),
  get('/cache', 'if-modified-since', 'Wed, 21 Oct 2015 07:28:00 GMT'),
  get('/cache', 'if-none-match', '*'),
  get('/cache/60'),
];

const content: Case[] = [
  ...['/image/png', '/image/jpeg', '/image/svg', '/image/webp'].map((p) => get(p)),
  get('/image', 'accept', 'image/png'),
  ...['/xml', '/html', '/json', '/robots.txt', '/deny', '/encoding/utf8'].map((p) => get(p)),
  get('/links/5/2'),
  get('/base64/SGVsbG8sIHNsaW1lIQ=='),
  get('/forms/post'),
  get('/headers', 'accept', 'text/html;q=0.9, */*;q=0.1', 'accept-language', 'fr-CH, fr;q=0.9'),
  // A fresh UUID on every call: only its shape is compared.
  { ...get('/uuid'), mask: 'uuid' },
];

/** httpbin's /response-headers sets whatever fields the query names; values chosen to be awkward. */
const responseHeaders: Case[] = [
  'X-Comma=a%2C%20b',
  'X-Space=%20%20padded%20%20',
  'X-Latin1=caf%C3%A9',
  'X-Empty=',
  'X-Dup=1&X-Dup=2&x-dup=3',
  'Content-Type=text%2Fplain%3B%20charset%3Dx-odd',
  'Link=%3C%2Fa%3E%3B%20rel%3D%22next%22%2C%20%3C%2Fb%3E%3B%20rel%3D%22prev%22',
  'Content-Disposition=attachment%3B%20filename%3D%22a%20b.txt%22',
  'Vary=Accept%2C%20Origin&Cache-Control=no-store%2C%20private',
  'WWW-Authenticate=Basic%20realm%3D%22x%22',
  'X-Quotes=%22quoted%22%20%27single%27%20%5Cback',
  'Server=impostor%2F1.0',
].map((q) => get(`/response-headers?${q}`));

export const CASES: readonly Case[] = [
  ...methods,
  ...targets,
  ...requestHeaders,
  ...setCookies,
  ...statuses,
  ...redirects,
  ...encodings,
  ...ranges,
  ...uploads,
  ...auth,
  ...conditionals,
  ...content,
  ...responseHeaders,
];
