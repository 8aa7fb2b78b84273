import { channel, tracingChannel } from 'node:diagnostics_channel';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { withFlatLines } from '../src/flat-line.js';
import { createLogger, REDACT, withCheapPrimitives } from '../src/logger.js';

const withoutTime = (line: string) => line.replace(/"time":\d+,/, '');
const asJsonSym = pino.symbols.asJsonSym as unknown as symbol;

/** Two loggers alike but for the flat-line builder: the lines each wrote, and a log call for both. */
function pair(options: pino.LoggerOptions, cheapPrimitives = true) {
  const ours: string[] = [];
  const theirs: string[] = [];
  const wrap = (l: pino.Logger) => (cheapPrimitives ? withCheapPrimitives(l) : l);
  const a = withFlatLines(wrap(pino(options, { write: (l: string) => ours.push(l) })));
  const b = wrap(pino(options, { write: (l: string) => theirs.push(l) }));
  return { a, b, ours, theirs };
}

// strings that JSON must escape or that pino's shortcuts treat apart: quotes, backslashes, control
// characters, lone surrogates, long strings
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({
    unit: fc.constantFrom('"', '\\', '\n', '\u0001', '\ud800', '\udc00', 'é', 'a'),
    maxLength: 80,
  }),
  fc.string({ minLength: 40, maxLength: 6000 }),
);
const flatValue = fc.oneof(
  text,
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(undefined),
  fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY, 1e21, 5e-324),
);
const key = fc.oneof(text, fc.constantFrom('status', 'err', 'msg', 'token', 'secret', 'time', 'level'));

describe('withFlatLines', () => {
  it('writes the lines pino writes for flat records, through roots and children (property)', () => {
    const configs: [pino.LoggerOptions, boolean][] = [
      [{ level: 'info', redact: { paths: REDACT, censor: '[redacted]' } }, true],
      [{ level: 'info', redact: { paths: REDACT, censor: '[redacted]' } }, false],
      [{ level: 'info' }, false],
      [{ level: 'info', redact: ['status', 'a.b'] }, false],
    ];
    for (const [options, cheap] of configs) {
      const { a, b, ours, theirs } = pair(options, cheap);
      fc.assert(
        fc.property(fc.dictionary(key, flatValue, { maxKeys: 14 }), text, (record, msg) => {
          a.info(record, msg);
          b.info(record, msg);
          a.child({ requestId: 'r1', token: 'x' }).warn(record, msg);
          b.child({ requestId: 'r1', token: 'x' }).warn(record, msg);
        }),
        { numRuns: 300 },
      );
      expect(ours.map(withoutTime)).toEqual(theirs.map(withoutTime));
    }
  });

  it('writes the access line as pino does, byte for byte', () => {
    const ours: string[] = [];
    const a = createLogger({ level: 'info', write: (l) => ours.push(l) });
    const theirs: string[] = [];
    const b = withCheapPrimitives(
      pino(
        { level: 'info', redact: { paths: REDACT, censor: '[redacted]' } },
        { write: (l: string) => theirs.push(l) },
      ),
    );
    const line = {
      requestId: 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
      method: 'GET',
      path: '/a"b\\c\n',
      status: 200,
      bytes: 150,
      durationMs: 3,
      agent: undefined,
      outcome: 'ok',
      client: '127.0.0.1',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    };
    a.info(line, 'request');
    b.info(line, 'request');
    expect(ours.map(withoutTime)).toEqual(theirs.map(withoutTime));
    expect(ours[0]).toContain('"path":"/a\\"b\\\\c\\n","status":200,');
    // the flat-line builder wrote it, not pino's own
    expect((a as unknown as Record<symbol, { name: string }>)[asJsonSym]!.name).toBe('flatLine');
  });

  it("leaves what is not flat to pino's own path, redaction included", () => {
    const { a, b, ours, theirs } = pair({ level: 'info', redact: { paths: REDACT, censor: '[redacted]' } });
    const records: Record<string, unknown>[] = [
      { token: 't', status: 1 },
      { nested: { token: 't' }, ok: true },
      { err: new Error('boom') },
      { n: null, big: 12n, sym: Symbol('s'), fn: () => 1 },
      Object.assign(Object.create({ inherited: 1 }), { own: 2 }),
    ];
    for (const r of records) {
      a.info(r, 'm');
      b.info(r, 'm');
    }
    a.info('plain %s', 'text');
    b.info('plain %s', 'text');
    a.info({ x: 1 });
    b.info({ x: 1 });
    expect(ours.map(withoutTime)).toEqual(theirs.map(withoutTime));
    expect(ours[0]).toContain('"token":"[redacted]"');
  });

  it('honours serializers, a log formatter, nestedKey and another message key', () => {
    const options: pino.LoggerOptions[] = [
      { serializers: { status: (s: number) => s * 2 } },
      { formatters: { log: (o) => ({ ...o, added: true }) } },
      { nestedKey: 'payload' },
      { messageKey: 'message', errorKey: 'status' },
    ];
    for (const o of options) {
      const { a, b, ours, theirs } = pair(o);
      a.info({ status: 2, path: '/x' }, 'm');
      b.info({ status: 2, path: '/x' }, 'm');
      a.child({ c: 1 }, { serializers: { path: () => 'p' } }).info({ path: '/y' }, 'n');
      b.child({ c: 1 }, { serializers: { path: () => 'p' } }).info({ path: '/y' }, 'n');
      expect(ours.map(withoutTime)).toEqual(theirs.map(withoutTime));
    }
  });

  it("runs pino's own path while the pino_asJson tracing channel has a subscriber", () => {
    const { a, ours } = pair({ level: 'info' });
    const seen: unknown[] = [];
    const start = channel('tracing:pino_asJson:start');
    const onStart = (m: unknown) => seen.push(m);
    start.subscribe(onStart);
    try {
      expect(tracingChannel('pino_asJson').hasSubscribers).toBe(true);
      a.info({ status: 1 }, 'm');
    } finally {
      start.unsubscribe(onStart);
    }
    expect(seen).toHaveLength(1);
    expect(ours).toHaveLength(1);
  });
});
