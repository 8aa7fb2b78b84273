import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, REDACT } from '../src/logger.js';

const withoutTime = (line: string) => line.replace(/"time":\d+,/, '');

describe('createLogger', () => {
  // The lines must be exactly those of pino with the same redaction (the primitive shortcut is
  // only about cost): each record is logged by both, through a root and a child.
  it('writes the same JSON lines as pino with the redaction paths', () => {
    const ours: string[] = [];
    const theirs: string[] = [];
    const a = createLogger({ level: 'info', write: (l) => ours.push(l) });
    const b = pino(
      { level: 'info', redact: { paths: REDACT, censor: '[redacted]' } },
      { write: (l: string) => theirs.push(l) },
    );
    const records: Record<string, unknown>[] = [
      { method: 'GET', path: '/a"b\\c\n\u0001é', status: 200, bytes: 0, durationMs: 1.25, ok: true },
      { n: Number.NaN, inf: Number.POSITIVE_INFINITY, neg: -0, nul: null, undef: undefined, big: 12n },
      { sym: Symbol('s'), fn: () => 1, arr: [1, 'x', { token: 't' }], date: new Date(0) },
      { secret: 's', token: 't', appPassword: 'p', adminToken: 'a', password: 'w' },
      {
        opts: { secret: 's', token: 't', keep: 1 },
        req: { headers: { authorization: 'x', cookie: 'c', host: 'h' } },
      },
      { hello: { headers: { 'slime-app-password': 'p', 'proxy-authorization': 'q', 'set-cookie': ['z'] } } },
      { err: new Error('boom'), nested: { deep: { token: 'kept at depth 3' } } },
    ];
    for (const r of records) {
      a.info(r, 'request');
      b.info(r, 'request');
      a.child({ requestId: 'r1', token: 'x' }).warn(r, 'child');
      b.child({ requestId: 'r1', token: 'x' }).warn(r, 'child');
    }
    a.info('plain %s', 'text');
    b.info('plain %s', 'text');
    expect(ours.map(withoutTime)).toEqual(theirs.map(withoutTime));
    expect(ours.join('')).toContain('[redacted]');
    expect(ours.join('')).not.toContain('"s"');
  });
});
