import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readAll } from '../../../../test/helpers/harness.js';
import { createPolicyEngine } from '../../src/policy/engine.js';
import { createBodySpool, createSpoolBudget } from '../../src/routing/body-spool.js';
import { createFallbackSection } from '../../src/routing/fallback-section.js';

describe('fallback section validation', () => {
  it('reports every problem with its path and keeps the old rules', () => {
    const engine = createPolicyEngine({
      sections: { fallback: createFallbackSection() },
      policy: { fallback: [{ on: [503], endpoints: [{ to: 'cache' }] }] },
    });
    expect(() =>
      engine.update({
        fallback: [
          {
            on: [200, 'sometimes'],
            endpoints: [
              { to: 'http://h:1', headers: { Host: 'x', 'bad name': 'v', ok: 'a\r\nb' }, timeout: 'soon' },
            ],
            nonIdempotent: 'yes',
            maxBodyBytes: -1,
            primaryTimeout: 'later',
          },
          { endpoints: [] },
        ],
      }),
    ).toThrow(
      /fallback\[0\]\.on\[0\] must be a status[\s\S]*on\[1\][\s\S]*headers\.Host is reserved[\s\S]*headers\.bad name is not a valid header name[\s\S]*headers\.ok must not contain[\s\S]*endpoints\[0\]\.timeout must be a duration[\s\S]*fallback\[0\]\.primaryTimeout must be a duration[\s\S]*nonIdempotent must be a boolean[\s\S]*maxBodyBytes must be an integer[\s\S]*fallback\[1\]\.on must be a non-empty list[\s\S]*fallback\[1\]\.endpoints must be a non-empty list/,
    );
    expect(engine.current().fallback).toEqual([{ on: [503], endpoints: [{ to: 'cache' }] }]);
  });

  it('checks endpoint params: non-empty names, string values, an object of them', () => {
    const section = createFallbackSection();
    const errors = section.validate(
      [
        { on: [503], endpoints: [{ to: 'cache', params: { '': 'x', n: 3, ok: 'y' } }] },
        { on: [503], endpoints: [{ to: 'cache', params: ['a'] }] },
      ],
      'fallback',
    );
    expect(errors).toEqual([
      'fallback[0].endpoints[0].params. must be a non-empty name',
      'fallback[0].endpoints[0].params.n must be a string',
      'fallback[1].endpoints[0].params must be an object of name: value',
    ]);
  });
});

describe('body spool', () => {
  it('passes the body to the first try and replays the same bytes, reading the rest from the client', async () => {
    const source = new PassThrough();
    const spool = createBodySpool(source, 100);
    source.write('hello ');
    const first = await new Promise<Buffer>((r) => spool.first.once('data', r));
    expect(first.toString()).toBe('hello ');
    const replay = spool.complete(new AbortController().signal);
    source.end('world');
    const copy = await replay;
    expect(copy).not.toBeNull();
    expect((await readAll(copy!())).toString()).toBe('hello world');
    expect((await readAll(copy!())).toString()).toBe('hello world');
  });

  it('gives up on a body over the limit, and when the client leaves', async () => {
    const big = new PassThrough();
    const spool = createBodySpool(big, 4);
    spool.first.resume();
    big.end('too large');
    await once(spool.first, 'end');
    expect(await spool.complete(new AbortController().signal)).toBeNull();
    const slow = new PassThrough();
    const s2 = createBodySpool(slow, 100);
    const gone = new AbortController();
    const pending = s2.complete(gone.signal);
    gone.abort();
    expect(await pending).toBeNull();
    expect(() => createBodySpool(new PassThrough(), -1)).toThrow(RangeError);
  });

  it('shares one hub-wide budget: a body that does not fit is not recorded, and release gives bytes back', async () => {
    const budget = createSpoolBudget(10);
    const a = new PassThrough();
    const spoolA = createBodySpool(a, 100, budget);
    spoolA.first.resume();
    a.end('1234567');
    await once(spoolA.first, 'end');
    expect(budget.used).toBe(7);
    // a second body of 5 bytes would take the sum to 12 > 10: no copy, so no fallback for it
    const b = new PassThrough();
    const spoolB = createBodySpool(b, 100, budget);
    spoolB.first.resume();
    b.end('abcde');
    await once(spoolB.first, 'end');
    expect(await spoolB.complete(new AbortController().signal)).toBeNull();
    expect(budget.used).toBe(7);
    // the first request's replays still work after release; its bytes go back to the budget
    const copy = await spoolA.complete(new AbortController().signal);
    const replay = copy!();
    spoolA.release();
    spoolA.release();
    expect(budget.used).toBe(0);
    expect((await readAll(replay)).toString()).toBe('1234567');
    expect(() => createSpoolBudget(-1)).toThrow(RangeError);
  });
});
