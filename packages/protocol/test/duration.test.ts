import { parseDuration } from '@slime/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// The one duration grammar (#16): what the command line, the policy file and X-Can-Wait all took
// before they shared this parser must still parse, to the same value.
describe('parseDuration', () => {
  it.each([
    // the command line's forms
    ['1h2m3s', 3_723_000],
    ['30d', 30 * 86_400_000],
    ['2w', 14 * 86_400_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['1000000ns', 1],
    ['.5s', 500],
    ['1.s', 1000],
    // the policy file's and X-Can-Wait's forms
    ['500ms', 500],
    ['30s', 30_000],
    ['2', 2000],
    ['0.5', 500],
    ['0', 0],
    [' 45s ', 45_000],
  ])('%j is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    '',
    '   ',
    'abc',
    '10x',
    's',
    'ms',
    '1h 2m',
    '2 s',
    '-5s',
    '+5s',
    '1h-2m',
    '5s3',
    'h1',
    '1..2s',
    '1e3',
    '1S',
    'Infinity',
  ])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('refuses days and weeks when calendar units are off (a request header)', () => {
    expect(parseDuration('5d', { calendarUnits: false })).toBeUndefined();
    expect(parseDuration('1w', { calendarUnits: false })).toBeUndefined();
    expect(parseDuration('1m30s', { calendarUnits: false })).toBe(90_000);
    expect(parseDuration('1.5', { calendarUnits: false })).toBe(1500);
  });

  it('sums its parts in any order, whatever the unit', () => {
    const units = [
      ['ms', 1],
      ['s', 1000],
      ['m', 60_000],
      ['h', 3_600_000],
      ['d', 86_400_000],
      ['w', 604_800_000],
    ] as const;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 999 }), fc.constantFrom(...units)), {
          minLength: 1,
          maxLength: 5,
        }),
        (parts) => {
          const text = parts.map(([n, [u]]) => `${n}${u}`).join('');
          const ms = parts.reduce((sum, [n, [, k]]) => sum + n * k, 0);
          expect(parseDuration(text)).toBe(ms);
        },
      ),
    );
  });
});
