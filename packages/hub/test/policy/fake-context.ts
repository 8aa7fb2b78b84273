import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino } from 'pino';
import type { RequestContext } from '../../src/pipeline/context.js';

export interface FakeRequest {
  method?: string;
  /** Path and query, e.g. `/api?a=1&a=2`. */
  target?: string;
  /** Header names in any case; an array value is a repeated field. */
  headers?: Record<string, string | string[]>;
  /** Socket peer address. */
  ip?: string;
  app?: string;
  scope?: string;
}

export type FakeContext = RequestContext & { res: ServerResponse & EventEmitter; abort(): void };

/** A RequestContext good enough for policies: no sockets, a response that is an EventEmitter. */
export function fakeContext(r: FakeRequest = {}): FakeContext {
  const target = r.target ?? '/';
  const q = target.indexOf('?');
  const headers: Record<string, string | string[]> = {};
  const distinct: Record<string, string[]> = {};
  const rawHeaders: string[] = [];
  for (const [k, v] of Object.entries(r.headers ?? {})) {
    const name = k.toLowerCase();
    const list = Array.isArray(v) ? v : [v];
    distinct[name] = list;
    headers[name] = name === 'set-cookie' ? list : list.join(', ');
    for (const x of list) rawHeaders.push(k, x);
  }
  const peer = r.ip ?? '127.0.0.1';
  const req = {
    method: r.method ?? 'GET',
    url: target,
    headers,
    headersDistinct: distinct,
    rawHeaders,
    socket: { remoteAddress: peer },
  };
  const res = new EventEmitter() as ServerResponse & EventEmitter;
  const controller = new AbortController();
  const ctx = {
    req: req as unknown as IncomingMessage,
    res,
    requestId: 'req-1',
    method: r.method ?? 'GET',
    path: q < 0 ? target : target.slice(0, q),
    target,
    query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)),
    clientIp: peer,
    route: { kind: 'agents' },
    block: false,
    upstreamHeaders: [],
    body: null,
    responseHeaders: {},
    signal: controller.signal,
    log: pino({ level: 'silent' }),
    startedAt: 0,
    notes: {},
    abort: () => controller.abort(),
    ...(r.app === undefined ? {} : { app: r.app }),
    ...(r.scope === undefined ? {} : { scope: r.scope }),
  };
  return ctx as unknown as FakeContext;
}

/** A manual clock. */
export function fakeClock(start = 1_000_000_000_000): {
  now: () => number;
  advance(ms: number): void;
  set(ms: number): void;
} {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
    set(ms) {
      t = ms;
    },
  };
}
