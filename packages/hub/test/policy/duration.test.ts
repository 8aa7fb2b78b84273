import { describe, expect, it } from 'vitest';
import { parseWindow } from '../../src/policy/duration.js';

// Issue #16/#24: the policy file takes the command line's duration grammar.
describe('policy durations use the command line grammar', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['2w', 1_209_600_000],
    ['30', 30_000],
    [2.5, 2_500],
  ])('%s is %d ms', (text, ms) => {
    expect(parseWindow(text)).toBe(ms);
  });

  it.each(['', 'soon', '-1s', '0s', '1x', 0, -3, Number.NaN, null])('%s is refused', (v) => {
    expect(parseWindow(v)).toBeUndefined();
  });
});
